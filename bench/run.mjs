// pnpm bench [--quick] [--only TEXT] [--connections N]: wrk on loopback against each server, alternating, medians and ratios to the raw server.
// Results go to bench/results.md (not with --quick, which only proves the harness works).
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

// --only TEXT: the groups with a server whose name contains TEXT; --connections N: one load level.
// Either makes a partial run, printed but not written to results.md.
const option = (name) => {
  const index = process.argv.indexOf(name);
  return index < 0 ? undefined : process.argv[index + 1];
};
const quick = process.argv.includes('--quick');
const only = option('--only');
const partial = quick || only !== undefined || option('--connections') !== undefined;
const seconds = quick ? 1 : 3;
const rounds = quick ? 1 : 7;
const connectionsList = option('--connections') ? [Number(option('--connections'))] : quick ? [64] : [1, 64];
const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const cli = here('../apps/cli/bin/chaussette.js');

const chaussette = (app, ...options) => (port) => [cli, here(app), '--host', '127.0.0.1', '--port', String(port), '--log-level', 'error', ...options];
// Each group's first server is the baseline of the ratios in that group.
const groups = [
  [
    { name: 'raw node:http', args: (port) => [here('apps/raw-node.mjs'), String(port)] },
    { name: 'chaussette node, node app', args: chaussette('apps/hello-node.cjs') },
    { name: 'chaussette node, fetch app', args: chaussette('apps/hello-fetch.mjs') },
  ],
  [
    // What `fastify start` runs: Fastify always has a logger there, and so it has under chaussette.
    { name: 'raw Fastify with a logger, plugin', args: (port) => [here('apps/raw-fastify.mjs'), String(port), '--logger'] },
    { name: 'chaussette fastify, plugin', args: chaussette('apps/hello-plugin.mjs', '--backend', 'fastify') },
    { name: 'raw Fastify without a logger, plugin', args: (port) => [here('apps/raw-fastify.mjs'), String(port)] },
  ],
  [
    { name: 'raw uWebSockets.js', args: (port) => [here('apps/raw-uws.mjs'), String(port)] },
    { name: 'chaussette uws, fetch app', args: chaussette('apps/hello-fetch.mjs', '--backend', 'uws') },
    { name: 'chaussette uws, node app', args: chaussette('apps/hello-node.cjs', '--backend', 'uws') },
  ],
  [
    // The same fetch app on the default backend, as the baseline of uws's speed-up.
    { name: 'chaussette node, fetch app (uws baseline)', args: chaussette('apps/hello-fetch.mjs') },
    { name: 'chaussette uws, fetch app (vs node)', args: chaussette('apps/hello-fetch.mjs', '--backend', 'uws') },
  ],
];
if (only !== undefined) groups.splice(0, groups.length, ...groups.filter((group) => group.some((server) => server.name.includes(only))));
const servers = groups.flat();
const baselineOf = new Map(groups.flatMap((group) => group.map((server) => [server.name, group[0].name])));

try {
  execFileSync('wrk', ['--version'], { stdio: 'ignore' });
} catch (error) {
  if (error.code === 'ENOENT') {
    console.error('bench: wrk is not installed; install it with `apt-get install -y wrk`');
    process.exit(1);
  }
}

// Servers on one core, wrk on another: left to the scheduler, a server shares wrk's core in some runs and
// not in others, which moves CPU per request by 10% or more between two identical servers.
const pinned = (() => {
  if (cpus().length < 2) return false;
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
})();
const onCore = (core, command, args) => (pinned ? ['taskset', ['-c', String(core), command, ...args]] : [command, args]);

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

async function start(server) {
  const port = await freePort();
  const child = spawn(...onCore(0, process.execPath, server.args(port)), { cwd: here('.'), stdio: ['ignore', 'ignore', 'inherit'] });
  for (let attempt = 0; ; attempt++) {
    try {
      execFileSync('wrk', ['-t1', '-c1', '-d1s', `http://127.0.0.1:${port}/`], { stdio: 'ignore' });
      return { child, port };
    } catch {
      if (attempt > 50) throw new Error(`${server.name} did not start`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

// CPU time the server process used (user + system), in microseconds: /proc/PID/stat fields 14 and 15.
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim() || 100);
function cpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

/** One wrk run; the server's CPU time per request is robust to what else the machine is doing. */
function wrk(port, connections, pid) {
  const cpuBefore = cpuMicros(pid);
  const out = execFileSync(...onCore(1, 'wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', `http://127.0.0.1:${port}/`])).toString();
  const requests = Number(/(\d+) requests in/.exec(out)[1]);
  const cpuPerRequest = (cpuMicros(pid) - cpuBefore) / requests;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  const [, value, unit] = /\s99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99ms = Number(value) * { us: 0.001, ms: 1, s: 1000 }[unit];
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`errors while benchmarking:\n${out}`);
  return { rps, p99ms, cpuPerRequest };
}

const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const running = [];
for (const server of servers) running.push({ server, ...(await start(server)) });
const byName = new Map(running.map((entry) => [entry.server.name, entry]));
const results = new Map(); // `${name}|${connections}` → { rps: [], p99ms: [], ratios: [] }
const record = (name, connections) => {
  const key = `${name}|${connections}`;
  if (!results.has(key)) results.set(key, { rps: [], p99ms: [], cpu: [], ratios: [], cpuRatios: [] });
  return results.get(key);
};
try {
  // Each server runs right after its baseline (A B A B …), and each pair gives a ratio: the machine's
  // drift between runs, large on shared 2-core machines, then cancels out in the median of the ratios.
  for (const connections of connectionsList) {
    for (let round = 0; round < rounds; round++) {
      for (const group of groups) {
        const [baseline, ...others] = group;
        for (const other of others) {
          const baseEntry = byName.get(baseline.name);
          const otherEntry = byName.get(other.name);
          const base = wrk(baseEntry.port, connections, baseEntry.child.pid);
          const sample = wrk(otherEntry.port, connections, otherEntry.child.pid);
          for (const [name, run] of [[baseline.name, base], [other.name, sample]]) {
            const entry = record(name, connections);
            entry.rps.push(run.rps);
            entry.p99ms.push(run.p99ms);
            entry.cpu.push(run.cpuPerRequest);
          }
          record(other.name, connections).ratios.push(sample.rps / base.rps);
          record(other.name, connections).cpuRatios.push(sample.cpuPerRequest / base.cpuPerRequest);
          console.log(
            `${connections} connections, round ${round + 1}: ${baseline.name} ${base.rps.toFixed(0)} req/s ${base.cpuPerRequest.toFixed(1)} µs CPU/req, ` +
              `${other.name} ${sample.rps.toFixed(0)} req/s ${sample.cpuPerRequest.toFixed(1)} µs CPU/req (${(sample.rps / base.rps).toFixed(2)}x)`,
          );
        }
      }
    }
  }
  const rows = [];
  for (const connections of connectionsList) {
    for (const { server, child } of running) {
      const entry = record(server.name, connections);
      const baseline = baselineOf.get(server.name);
      const isBaseline = baseline === server.name;
      const ratio = isBaseline ? 'baseline' : `${median(entry.ratios).toFixed(2)}x`;
      const cpuRatio = isBaseline ? 'baseline' : `${median(entry.cpuRatios).toFixed(2)}x`;
      rows.push(
        `| ${server.name} | ${connections} | ${median(entry.rps).toFixed(0)} | ${ratio} | ${median(entry.cpu).toFixed(1)} | ${cpuRatio} | ${median(entry.p99ms).toFixed(2)} | ${rssMiB(child.pid).toFixed(0)} |`,
      );
    }
  }
  const table = [
    'Baselines, each the first row of its group: raw node:http for chaussette\'s node backend; Fastify with a logger at level error for a Fastify plugin (what `fastify start` runs: it always gives Fastify a logger; Fastify without one is the group\'s third row); a raw uWebSockets.js hello for the uws backend; and the node backend\'s fetch app for the uws backend\'s speed-up.',
    '',
    `Hello world (\`Hello world!\\n\`, 13 bytes), wrk -t1 for ${seconds} s per run; each server ran ${rounds} times, each time right after its baseline (the first server of its group). Requests/s, CPU per request and p99 are medians of the runs; the ratios are medians of the ${rounds} paired ratios. Throughput ratio: higher is better. CPU ratio: the server process's CPU time (user + system, /proc) per request against the baseline's; lower is better, and it barely moves with the load on the machine.`,
    '',
    '| server | connections | requests/s | throughput vs baseline | CPU µs/request | CPU vs baseline | p99 latency (ms) | RSS after (MiB) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
  console.log(`\n${table}`);
  if (!partial) {
    const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}${pinned ? '; servers pinned to core 0 and wrk to core 1 (taskset)' : ''}`;
    writeFileSync(
      here('results.md'),
      `# Benchmark results\n\n${machine}. wrk and the servers share the machine's cores, so compare the ratios within one run, not absolute numbers across machines.\n\n${table}\n`,
    );
  }
} finally {
  for (const { child } of running) child.kill('SIGTERM');
}
