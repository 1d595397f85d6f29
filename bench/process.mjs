// What the benchmarks (run.mjs, websocket.mjs, tls.mjs) measure a server process with, and write their reports with.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { onCore } from './load.mjs';

export const list = (text) => text.split(',').map((item) => item.trim());

/** A bench option that makes no sense: one line, and a non-zero exit. */
export function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(1);
}

/** A run that failed: one line, and a non-zero exit once its servers are stopped. */
export function runFailed(error) {
  console.error(`bench: ${error.message}`);
  process.exitCode = 1;
}

/**
 * The options both benchmarks take (--quick, --rounds N, --seconds N, --connections 1,64, --out DIR), with
 * `extra` ones. A run given any of them but --out is partial: it writes its report only where --out says,
 * a full one here.
 */
export function benchOptions(extra = {}) {
  const { values: options } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      connections: { type: 'string' },
      out: { type: 'string' },
      ...extra,
    },
  });
  const quick = options.quick;
  const partial = quick || Object.keys(options).some((name) => name !== 'quick' && name !== 'out');
  return {
    options,
    quick,
    rounds: Number(options.rounds ?? (quick ? 1 : 5)),
    seconds: Number(options.seconds ?? (quick ? 1 : 2)),
    connectionsList: options.connections ? list(options.connections).map(Number) : quick ? [16] : [1, 64],
    outDir: options.out ?? (partial ? undefined : fileURLToPath(new URL('.', import.meta.url))),
  };
}

export async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

// CPU time the server process used (user + system), in microseconds: /proc/PID/stat fields 14 and 15.
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim() || 100);
export const cpuMicros = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
};

const memoryMiB = (pid, field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const answersHttp = async (port) => (await fetch(`http://127.0.0.1:${port}/`)).ok;

/**
 * Starts a server (node with `args(port)`) on core 0; resolves once `answers(port)` is true (by default:
 * it answers GET / over HTTP/1.1).
 */
export async function startServer({ name, args, command = process.execPath }, cwd, answers = answersHttp) {
  const port = await freePort();
  const child = spawn(...onCore(0, command, args(port)), { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}`);
    try {
      if (await answers(port)) return { child, port };
    } catch {}
    if (attempt > 100) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not start`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * One cell of a report from a pair's runs (`{ server, baseline }`, one per round): medians of the runs, and
 * the median of the per-round ratios.
 */
export function pairCell(runs) {
  return {
    rps: median(runs.map(({ server }) => server.rps)),
    baselineRps: median(runs.map(({ baseline }) => baseline.rps)),
    ratio: median(runs.map(({ server, baseline }) => server.rps / baseline.rps)),
    cpu: median(runs.map(({ server }) => server.cpuPerRequest)),
    cpuRatio: median(runs.map(({ server, baseline }) => server.cpuPerRequest / baseline.cpuPerRequest)),
    p99ms: median(runs.map(({ server }) => server.p99ms)),
    baselineP99ms: median(runs.map(({ baseline }) => baseline.p99ms)),
  };
}

/** The report's Memory section: each running server's RSS now and at its peak. */
export function memorySection(running) {
  return [
    '## Memory',
    '',
    '| server | RSS after the run (MiB) | peak RSS (MiB) |',
    '| --- | --- | --- |',
    ...running.map(({ name, child }) => `| ${name} | ${memoryMiB(child.pid, 'VmRSS').toFixed(0)} | ${memoryMiB(child.pid, 'VmHWM').toFixed(0)} |`),
    '',
  ];
}

export const ratio = (value) => `${value.toFixed(2)}x`;

/** The report's machine line: cores and CPU, Node, `tools` (their versions), today's date. */
export const machineLine = (...tools) => [`${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`, `Node ${process.version}`, ...tools, new Date().toISOString().slice(0, 10)].join(', ');

/** The report's table of one cell (`key`) of every pair (see pairCell): its figures and its baseline's. */
export function pairTable(results, key) {
  return [
    '| server ÷ baseline | requests/s | baseline requests/s | throughput ratio | CPU µs/request | CPU ratio | p99 ms | baseline p99 ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...results.map(({ label, cells }) => {
      const c = cells.get(key);
      return `| ${label} | ${c.rps.toFixed(0)} | ${c.baselineRps.toFixed(0)} | ${ratio(c.ratio)} | ${c.cpu.toFixed(1)} | ${ratio(c.cpuRatio)} | ${c.p99ms.toFixed(2)} | ${c.baselineP99ms.toFixed(2)} |`;
    }),
  ];
}

/**
 * Prints `report`; with --out (`outDir`), writes it there as `file`, with the files `alongside()` makes
 * (`{ name: content }`) beside it.
 */
export function writeReport(report, outDir, file, alongside = () => ({})) {
  console.log(`\n${report}`);
  if (!outDir) return;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, file), report);
  const others = Object.entries(alongside());
  for (const [name, content] of others) writeFileSync(join(outDir, name), content);
  console.log(`bench: wrote ${join(outDir, file)}${others.length > 0 ? ` and ${others.map(([name]) => name).join(', ')}` : ''}`);
}
