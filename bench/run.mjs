// pnpm bench: every chaussette backend with every app kind, against the raw servers they wrap, on loopback.
// Options: --quick (one short round: proves the harness works), --rounds N, --seconds N, --connections 1,64,
// --workloads hello,json,echo,stream, --only TEXT (comparisons naming TEXT), --load-generator wrk|autocannon,
// --out DIR. A full run writes results.md and results.svg here; a partial one writes only with --out.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ratioChart } from './chart.mjs';
import { defaultLoadGenerator, load, pinned } from './load.mjs';
import { benchOptions, cpuMicros, fail, list, machineLine, memorySection, pairCell, pairTable, ratio, runFailed, startServer, writeReport } from './process.mjs';
import { SERVERS } from './servers.mjs';
import { WORKLOADS } from './workloads.mjs';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const { options, quick, rounds, seconds, connectionsList, outDir } = benchOptions({
  workloads: { type: 'string' },
  only: { type: 'string' },
  'load-generator': { type: 'string' },
});

const COMPARISONS = [
  { server: 'nodeNode', baseline: 'rawNode', target: 0.95 },
  { server: 'nodeFetch', baseline: 'rawNode', target: 0.9, targetWorkloads: ['hello', 'json'] },
  { server: 'nodeFetch', baseline: 'hono', target: 1 },
  { server: 'fastifyPlugin', baseline: 'rawFastify', target: 0.95 },
  { server: 'fastifyNode', baseline: 'rawNode' },
  { server: 'fastifyFetch', baseline: 'hono' },
  { server: 'uwsFetch', baseline: 'rawUws', target: 0.85 },
  { server: 'uwsFetch', baseline: 'nodeFetch', target: 2.5, targetWorkloads: ['hello'] },
  { server: 'uwsFetch', baseline: 'bunServe', target: 1 },
  { server: 'fastifyFetch', baseline: 'nodeFetch', target: 0.9 },
  { server: 'uwsNode', baseline: 'rawUws', target: 0.6 },
  { server: 'uwsNode', baseline: 'rawNode' },
  // What uWebSockets.js itself gains over node:http: the ceiling for the uws ÷ node comparisons.
  { server: 'rawUws', baseline: 'rawNode' },
  // Two identical servers: how far apart noise alone puts a pair on this machine.
  { server: 'rawNodeAgain', baseline: 'rawNode' },
].map((comparison) => ({ ...comparison, label: `${SERVERS[comparison.server].name} ÷ ${SERVERS[comparison.baseline].name}` }));

const generator = options['load-generator'] ?? defaultLoadGenerator();
if (!['wrk', 'autocannon'].includes(generator)) fail(`--load-generator must be wrk or autocannon, not ${generator}`);
const workloadNames = options.workloads ? list(options.workloads) : Object.keys(WORKLOADS);
for (const name of workloadNames) if (!WORKLOADS[name]) fail(`unknown workload ${name}: choose from ${Object.keys(WORKLOADS).join(', ')}`);
const comparisons = options.only ? COMPARISONS.filter(({ label }) => label.includes(options.only)) : COMPARISONS;
if (comparisons.length === 0) fail(`no comparison names ${options.only}`);
const serverKeys = [...new Set(comparisons.flatMap(({ server, baseline }) => [server, baseline]))];

/** Starts a server on core 0 and checks that it answers every workload with the right bytes. */
async function start(key) {
  const server = SERVERS[key];
  const { child, port } = await startServer(server, here('.'));
  const url = (path) => `http://127.0.0.1:${port}${path}`;
  for (const name of workloadNames) {
    const { path, post, expectedBytes } = WORKLOADS[name];
    const response = await fetch(url(path), post ? { method: 'POST', body: readFileSync(post.bodyFile), headers: { 'content-type': 'application/octet-stream' } } : {});
    const body = Buffer.from(await response.arrayBuffer());
    if (response.status !== 200 || body.length !== expectedBytes) throw new Error(`${server.name} answered ${path} with ${response.status} and ${body.length} bytes, not 200 and ${expectedBytes}`);
  }
  return { key, name: server.name, child, url };
}

/** Loads one server and measures its requests/s, p99 and CPU per request over the run. */
async function measure(server, workloadName, connections) {
  const workload = WORKLOADS[workloadName];
  const cpuBefore = cpuMicros(server.child.pid);
  const run = await load(generator, { url: server.url(workload.path), connections, seconds, post: workload.post });
  const cpu = cpuMicros(server.child.pid) - cpuBefore;
  if (run.errors) throw new Error(`${server.name} failed under load on ${workload.path}:\n${run.errors}`);
  // wrk rounds the bytes it read to two decimals (1.23GB): allow 1%.
  if (run.bytesPerRequest < workload.expectedBytes * 0.99) throw new Error(`${server.name} sent ${run.bytesPerRequest.toFixed(0)} bytes per answer on ${workload.path}, expected at least ${workload.expectedBytes}`);
  return { ...run, cpuPerRequest: cpu / run.requests };
}

/**
 * A server and its baseline under the same load at the same time, sharing core 0: whatever the machine
 * does meanwhile (other tenants, frequency changes) slows both alike, so the ratio keeps only their own
 * difference. Which one is loaded first alternates with the round (A B, then B A).
 */
async function measurePair(server, baseline, workload, connections, round) {
  if (round % 2) return (await Promise.all([measure(baseline, workload, connections), measure(server, workload, connections)])).reverse();
  return Promise.all([measure(server, workload, connections), measure(baseline, workload, connections)]);
}

const running = [];
const stopAll = () => {
  for (const { child } of running) child.kill('SIGTERM');
};
process.on('SIGINT', () => {
  stopAll();
  process.exit(130);
});

try {
  for (const key of serverKeys) running.push(await start(key));
  const byKey = new Map(running.map((server) => [server.key, server]));
  const runsPerRound = comparisons.length * workloadNames.length * connectionsList.length;
  const warmUp = quick ? 0 : serverKeys.length * workloadNames.length;
  console.log(`bench: ${generator}, ${serverKeys.length} servers, about ${Math.ceil((rounds * runsPerRound * (seconds + 0.3) + warmUp * 1.3) / 60)} min`);
  if (!quick) for (const server of running) for (const name of workloadNames) await load(generator, { url: server.url(WORKLOADS[name].path), connections: 64, seconds: 1, post: WORKLOADS[name].post });

  // Per comparison, workload and connection count: the pair's runs, one per round.
  const pairs = new Map(comparisons.map((comparison) => [comparison, new Map()]));
  for (const connections of connectionsList) {
    for (const workload of workloadNames) {
      for (let round = 0; round < rounds; round++) {
        const line = [];
        for (const comparison of comparisons) {
          const [server, baseline] = await measurePair(byKey.get(comparison.server), byKey.get(comparison.baseline), workload, connections, round);
          const key = `${workload}|${connections}`;
          if (!pairs.get(comparison).has(key)) pairs.get(comparison).set(key, []);
          pairs.get(comparison).get(key).push({ server, baseline });
          line.push(`${comparison.server}/${comparison.baseline} ${(server.rps / baseline.rps).toFixed(2)}x`);
        }
        console.log(`${workload}, ${connections} conn, round ${round + 1}/${rounds}: ${line.join(', ')}`);
      }
    }
  }

  // Per comparison and cell: medians of the runs, and the median of the per-round ratios.
  const results = comparisons.map((comparison) => ({ ...comparison, cells: new Map([...pairs.get(comparison)].map(([key, runs]) => [key, pairCell(runs)])) }));
  writeReport(markdown(results, memorySection(running)), outDir, 'results.md', () => ({
    'results.svg': ratioChart({
      title: 'chaussette ÷ baseline, requests per second (median of the per-round ratios)',
      comparisons: results.map(({ label, target, targetWorkloads, cells }) => ({ label, target, targetWorkloads, ratios: new Map([...cells].map(([key, { ratio }]) => [key, ratio])) })),
      workloads: workloadNames.map((key) => ({ key, label: WORKLOADS[key].label })),
      connectionsList,
    }),
  }));
} catch (error) {
  runFailed(error);
} finally {
  stopAll();
}

function markdown(results, memory) {
  const columns = connectionsList.flatMap((connections) => workloadNames.map((workload) => ({ workload, connections, key: `${workload}|${connections}` })));
  const heading = columns.map(({ workload, connections }) => `${WORKLOADS[workload].label}, ${connections} conn`);
  const targets = results
    .filter(({ target }) => target !== undefined)
    .map(({ label, target, targetWorkloads, cells }) => {
      const marks = columns.map(({ workload, key }) => {
        if (targetWorkloads && !targetWorkloads.includes(workload)) return ratio(cells.get(key).ratio);
        return `${ratio(cells.get(key).ratio)} ${cells.get(key).ratio >= target ? '✓' : '✗'}`;
      });
      return `| ${label} | ≥ ${target}x${targetWorkloads ? ` (${targetWorkloads.join(', ')})` : ''} | ${marks.join(' | ')} |`;
    });
  const details = columns.flatMap(({ workload, connections, key }) => [
    `### ${WORKLOADS[workload].label}, ${connections} connection${connections === 1 ? '' : 's'}`,
    '',
    ...pairTable(results, key),
    '',
  ]);
  const machine = machineLine();
  const loadLine = generator === 'wrk' ? 'wrk -t1' : 'autocannon';
  return [
    '# Benchmark results',
    '',
    `${machine}. ${pinned ? 'Servers pinned to core 0, the load generator to core 1 (taskset). ' : ''}Compare the ratios within one run, not absolute numbers across machines.`,
    '',
    `Method: \`pnpm bench\`. Each comparison runs its server and its baseline side by side: both on the same core, each loaded at the same time by its own ${loadLine} ${pinned ? 'on the other core ' : ''}on loopback, for ${seconds} s, ${rounds} round${rounds === 1 ? '' : 's'}; which of the two is loaded first alternates with the round (A B, then B A). Whatever else the machine does during a run slows both alike, so the ratio keeps only their own difference: the last comparison, two identical raw node:http processes, shows what noise is left (most on the 64 KiB echo at one connection, where the kernel's loopback work is charged to whichever server runs at the moment). Two saturated servers share the core, so their requests/s are about half of what one does alone. Requests/s, CPU and p99 latency are medians of the rounds; each ratio is the median of the per-round ratios. Throughput ratio: higher is better. CPU ratio: the server process's CPU time (user + system, from /proc) per request against the baseline's; lower is better. Every answer is checked for its full size (a server that sends less fails the run).`,
    '',
    'Apps (`bench/apps/`): one node listener, one fetch handler and one Fastify plugin, each answering the same four routes with the same bytes: `/` (13 bytes of text), `/json` (`{"message":"Hello, World!"}`), `/echo` (a 64 KiB POST body, read whole and sent back with its length) and `/stream` (1 MiB written as 16 chunks of 64 KiB, chunked, with backpressure). Baselines: the node listener on `node:http`, the fetch handler on `@hono/node-server`, the plugin on `fastify.listen()` with a logger at level error (what `fastify start` runs), each route written natively for uWebSockets.js (the build the uws backend runs), and the fetch handler on `Bun.serve()` (bun 1.4.5, from npm).',
    '',
    '![Ratios to the baselines](results.svg)',
    '',
    '## Targets',
    '',
    `| comparison | target | ${heading.join(' | ')} |`,
    `| --- | --- | ${columns.map(() => '---').join(' | ')} |`,
    ...targets,
    '',
    '## All comparisons',
    '',
    ...details,
    ...memory,
  ].join('\n');
}
