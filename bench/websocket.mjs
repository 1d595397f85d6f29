// pnpm bench (its second part): WebSocket echo, messages per second, on every chaussette backend against
// raw uWebSockets.js and raw `ws`. Options: --quick, --rounds N, --seconds N, --connections 1,64, --out DIR.
// A full run writes results-websocket.md here.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { onCore, pinned } from './load.mjs';
import { benchOptions, cpuMicros, machineLine, median, memorySection, ratio, runFailed, startServer, writeReport } from './process.mjs';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const { quick, rounds, seconds, connectionsList, outDir } = benchOptions();
const MESSAGE_BYTES = 32;
// Messages in flight per connection: one for a lone client (each waits for its echo), more for many.
const depthFor = (connections) => (connections === 1 ? 1 : 16);

const cli = here('../apps/cli/bin/chaussette.js');
const chaussette = (backend) => ({
  name: `chaussette ${backend}, fetch app`,
  args: (port) => [cli, here('apps/ws-echo.mjs'), '--backend', backend, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'error'],
});
const SERVERS = {
  rawUws: { name: 'raw uWebSockets.js', args: (port) => [here('apps/raw-uws-ws.mjs'), String(port)] },
  rawWs: { name: 'raw ws on node:http', args: (port) => [here('apps/raw-ws.mjs'), String(port)] },
  uws: chaussette('uws'),
  node: chaussette('node'),
  fastify: chaussette('fastify'),
};
const ORDER = ['rawUws', 'uws', 'node', 'rawWs', 'fastify'];
const COMPARISONS = [
  { server: 'uws', baseline: 'rawUws' },
  { server: 'node', baseline: 'rawWs' },
  { server: 'fastify', baseline: 'rawWs' },
  { server: 'uws', baseline: 'node' },
].map((comparison) => ({ ...comparison, label: `${SERVERS[comparison.server].name} ÷ ${SERVERS[comparison.baseline].name}` }));

/** Starts a server on core 0 and checks that it echoes. */
async function start(key) {
  const server = SERVERS[key];
  const { child, port } = await startServer(server, here('.'));
  const url = `ws://127.0.0.1:${port}/`;
  const client = new WebSocket(url);
  await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
  client.send('check');
  const [echo] = await new Promise((resolve) => client.once('message', (...args) => resolve(args)));
  client.close();
  if (echo.toString() !== 'check') {
    child.kill('SIGKILL');
    throw new Error(`${server.name} echoed ${echo.toString()}, not check`);
  }
  return { key, name: server.name, child, url };
}

function measure(server, connections) {
  const cpuBefore = cpuMicros(server.child.pid);
  const args = [here('ws-load.mjs'), '--url', server.url, '--connections', String(connections), '--seconds', String(seconds), '--bytes', String(MESSAGE_BYTES), '--depth', String(depthFor(connections))];
  const run = JSON.parse(execFileSync(...onCore(1, process.execPath, args)).toString());
  if (run.errors) throw new Error(`${server.name}: ${run.errors} errors under load`);
  // Every message the server answered is one in and one out.
  return { rate: run.messages / run.seconds, cpuPerMessage: (cpuMicros(server.child.pid) - cpuBefore) / run.messages };
}

const running = [];
try {
  for (const key of ORDER) running.push(await start(key));
  const byKey = new Map(running.map((server) => [server.key, server]));
  if (!quick) for (const server of running) measure(server, 64); // warm-up
  const samples = new Map();
  const cell = (key, connections) => {
    const id = `${key}|${connections}`;
    if (!samples.has(id)) samples.set(id, []);
    return samples.get(id);
  };
  for (const connections of connectionsList) {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 ? [...ORDER].reverse() : ORDER;
      const line = [];
      for (const key of order) {
        const run = measure(byKey.get(key), connections);
        cell(key, connections)[round] = run;
        line.push(`${key} ${run.rate.toFixed(0)}/s ${run.cpuPerMessage.toFixed(1)}µs`);
      }
      console.log(`websocket echo, ${connections} conn, round ${round + 1}/${rounds}: ${line.join(', ')}`);
    }
  }
  const rows = COMPARISONS.flatMap(({ server, baseline, label }) =>
    connectionsList.map((connections) => {
      const runs = cell(server, connections);
      const base = cell(baseline, connections);
      return {
        label,
        connections,
        rate: median(runs.map((run) => run.rate)),
        baselineRate: median(base.map((run) => run.rate)),
        ratio: median(runs.map((run, round) => run.rate / base[round].rate)),
        cpu: median(runs.map((run) => run.cpuPerMessage)),
        cpuRatio: median(runs.map((run, round) => run.cpuPerMessage / base[round].cpuPerMessage)),
      };
    }),
  );
  writeReport(markdown(rows, memorySection(running)), outDir, 'results-websocket.md');
} catch (error) {
  runFailed(error);
} finally {
  for (const { child } of running) child.kill('SIGTERM');
}

function markdown(rows, memory) {
  const machine = machineLine();
  return [
    '# WebSocket benchmark results',
    '',
    `${machine}. ${pinned ? 'Servers pinned to core 0, the load generator to core 1 (taskset). ' : ''}Compare the ratios within one run, not absolute numbers across machines.`,
    '',
    `Method: \`pnpm bench\` (its second part, \`node bench/websocket.mjs\`). An echo of ${MESSAGE_BYTES}-byte text messages: each client (the \`ws\` package, \`bench/ws-load.mjs\`) keeps messages in flight (one with 1 connection, 16 per connection with more) and sends one more for each that comes back, for ${seconds} s per run, ${rounds} round${rounds === 1 ? '' : 's'}; in each round every server runs once per connection count, one after the other, in a fixed order that puts each next to its baseline, reversed every other round (A B A B). Messages per second and CPU per message are medians of the rounds; each ratio is the median of the per-round ratios. The client is one Node.js process on one core: against the fastest servers it is the limit, so there the CPU ratio (the server's CPU time per message; lower is better) says more than the throughput ratio.`,
    '',
    'Servers: `bench/apps/ws-echo.mjs` (a fetch app with Bun.serve() `websocket` handlers) on each chaussette backend; `raw-uws-ws.mjs`, uWebSockets.js\'s own echo; `raw-ws.mjs`, a `ws` WebSocketServer on node:http.',
    '',
    '| server ÷ baseline | connections | messages/s | baseline messages/s | throughput ratio | CPU µs/message | CPU ratio |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row.label} | ${row.connections} | ${row.rate.toFixed(0)} | ${row.baselineRate.toFixed(0)} | ${ratio(row.ratio)} | ${row.cpu.toFixed(1)} | ${ratio(row.cpuRatio)} |`),
    '',
    ...memory,
  ].join('\n');
}
