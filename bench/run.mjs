// pnpm bench [--quick]: wrk on loopback against each server, alternating, medians and ratios to raw node:http.
// Results go to bench/results.md (not with --quick, which only proves the harness works).
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

const quick = process.argv.includes('--quick');
const seconds = quick ? 1 : 5;
const rounds = quick ? 1 : 5;
const connectionsList = quick ? [64] : [1, 64];
const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const cli = here('../apps/cli/bin/chaussette.js');

const servers = [
  { name: 'raw node:http', args: (port) => [here('apps/raw-node.mjs'), String(port)] },
  { name: 'chaussette node, node app', args: (port) => [cli, here('apps/hello-node.cjs'), '--host', '127.0.0.1', '--port', String(port), '--log-level', 'error'] },
  { name: 'chaussette node, fetch app', args: (port) => [cli, here('apps/hello-fetch.mjs'), '--host', '127.0.0.1', '--port', String(port), '--log-level', 'error'] },
];

try {
  execFileSync('wrk', ['--version'], { stdio: 'ignore' });
} catch (error) {
  if (error.code === 'ENOENT') {
    console.error('bench: wrk is not installed; install it with `apt-get install -y wrk`');
    process.exit(1);
  }
}

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
  const child = spawn(process.execPath, server.args(port), { stdio: ['ignore', 'ignore', 'inherit'] });
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

function wrk(port, connections) {
  const out = execFileSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', `http://127.0.0.1:${port}/`]).toString();
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
  const [, value, unit] = /\s99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99ms = Number(value) * { us: 0.001, ms: 1, s: 1000 }[unit];
  if (/Non-2xx|Socket errors/.test(out)) throw new Error(`errors while benchmarking:\n${out}`);
  return { rps, p99ms };
}

const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const running = [];
for (const server of servers) running.push({ server, ...(await start(server)) });
const samples = new Map(); // `${name}|${connections}` → [{ rps, p99ms }]
try {
  for (const connections of connectionsList) {
    for (let round = 0; round < rounds; round++) {
      for (const { server, port } of running) {
        const sample = wrk(port, connections);
        const key = `${server.name}|${connections}`;
        samples.set(key, [...(samples.get(key) ?? []), sample]);
        console.log(`${server.name}, ${connections} connections, round ${round + 1}: ${sample.rps.toFixed(0)} req/s, p99 ${sample.p99ms.toFixed(2)} ms`);
      }
    }
  }
  const rows = [];
  for (const connections of connectionsList) {
    const base = median(samples.get(`${servers[0].name}|${connections}`).map((sample) => sample.rps));
    for (const { server, child } of running) {
      const list = samples.get(`${server.name}|${connections}`);
      const rps = median(list.map((sample) => sample.rps));
      rows.push(`| ${server.name} | ${connections} | ${rps.toFixed(0)} | ${(rps / base).toFixed(2)}x | ${median(list.map((s) => s.p99ms)).toFixed(2)} | ${rssMiB(child.pid).toFixed(0)} |`);
    }
  }
  const table = [
    `Hello world (\`Hello world!\\n\`, 13 bytes), wrk -t1 for ${seconds} s per run, ${rounds} alternating runs per server; median of the runs.`,
    '',
    '| server | connections | requests/s | vs raw node:http | p99 latency (ms) | RSS after (MiB) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
  console.log(`\n${table}`);
  if (!quick) {
    const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
    writeFileSync(
      here('results.md'),
      `# Benchmark results\n\n${machine}. wrk and the servers share the machine's cores, so compare the ratios within one run, not absolute numbers across machines.\n\n${table}\n`,
    );
  }
} finally {
  for (const { child } of running) child.kill('SIGTERM');
}
