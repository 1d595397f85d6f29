// One load run against one server: wrk where installed, autocannon (from npm) otherwise; h2load (Debian's
// nghttp2-client) for HTTP/2.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const hasCommand = (command, args) => {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch (error) {
    return error.code !== 'ENOENT';
  }
};

/** 'wrk' when it is on the PATH, else 'autocannon'. */
export const defaultLoadGenerator = () => (hasCommand('wrk', ['--version']) ? 'wrk' : 'autocannon');

// Servers on one core, the load generator on the other: left to the scheduler, a server shares the
// generator's core in some runs and not in others, which moves CPU per request by 10% or more.
export const pinned = (() => {
  try {
    execFileSync('taskset', ['-c', '1', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
export const onCore = (core, command, args) => (pinned ? ['taskset', ['-c', String(core), command, ...args]] : [command, args]);

const scratch = mkdtempSync(join(tmpdir(), 'chaussette-bench-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
const autocannonBin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
const run = async (command, args, options = {}) => (await promisify(execFile)(command, args, { maxBuffer: 16 * 1024 * 1024, ...options })).stdout;

/** A POST body of `bytes` bytes, as wrk's Lua script and as autocannon's input file. */
export function postBody(bytes) {
  const bodyFile = join(scratch, `body-${bytes}`);
  writeFileSync(bodyFile, Buffer.alloc(bytes, 'x'));
  const script = join(scratch, `post-${bytes}.lua`);
  writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.body = string.rep("x", ${bytes})\nwrk.headers["Content-Type"] = "application/octet-stream"\n`,
  );
  return { bodyFile, script };
}

const UNITS = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/**
 * Loads `url` for `seconds` with `connections` connections.
 * @returns {Promise<{ requests: number, rps: number, p99ms: number, bytesPerRequest: number, errors: string | undefined }>}
 */
export async function load(generator, { url, connections, seconds, post }) {
  if (generator === 'wrk') {
    // wrk's own timeout, 2 s, cuts the slowest 1 MiB streams of two servers that share a core.
    const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '--latency', ...(post ? ['-s', post.script] : []), url];
    const out = await run(...onCore(1, 'wrk', args));
    const [, requests, read, unit] = /(\d+) requests in [\d.]+\w+, ([\d.]+)(\w+) read/.exec(out);
    const [, p99, p99Unit] = /\s99%\s+([\d.]+)(us|ms|s)/.exec(out);
    return {
      requests: Number(requests),
      rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]),
      p99ms: Number(p99) * { us: 0.001, ms: 1, s: 1000 }[p99Unit],
      bytesPerRequest: (Number(read) * UNITS[unit]) / Number(requests),
      errors: /Non-2xx|Socket errors/.test(out) ? out : undefined,
    };
  }
  const args = [autocannonBin, '--json', '-c', String(connections), '-d', String(seconds), ...(post ? ['-m', 'POST', '-i', post.bodyFile, '-H', 'content-type=application/octet-stream'] : []), url];
  const result = JSON.parse(await run(...onCore(1, process.execPath, args)));
  const failures = result.errors + result.timeouts + result.non2xx;
  return {
    requests: result.requests.total,
    rps: result.requests.total / result.duration,
    p99ms: result.latency.p99,
    bytesPerRequest: result.throughput.total / result.requests.total,
    errors: failures > 0 ? `${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx answers` : undefined,
  };
}

let h2loadRuns = 0;

/**
 * h2load that has not exited well past its duration. Seen against raw node:http2 as against chaussette, on
 * Node 22, 24 and 26, at 64 connections run back to back: after "Stopped all clients" h2load stops reading
 * one connection and waits on it for good. Its results are lost with it; the run can be done again.
 */
export class H2loadHung extends Error {}

/**
 * Loads `url` over HTTP/2 with h2load for `seconds`: `connections` connections with `streams` streams in
 * flight on each; h2 by ALPN for an https:// URL, prior knowledge (h2c) for an http:// one.
 * @returns {Promise<{ requests: number, rps: number, p99ms: number, bytesPerRequest: number, errors: string | undefined }>}
 */
export async function loadH2({ url, connections, streams, seconds, post }) {
  // h2load prints no percentiles: its log has each request's time, in microseconds, in the third column.
  const logFile = join(scratch, `h2load-${h2loadRuns++}.log`);
  const postArgs = post ? ['-d', post.bodyFile, '-H', 'content-type: application/octet-stream'] : [];
  // h2load has been seen to go on past its duration (H2loadHung): end it then.
  const args = ['-t1', `-c${connections}`, `-m${streams}`, `-D${seconds}`, `--log-file=${logFile}`, ...postArgs, url];
  const out = await run(...onCore(1, 'h2load', args), { timeout: (seconds + 20) * 1000 }).catch((error) => {
    const message = `h2load ${error.killed ? 'ran past its duration and was ended' : `exited with ${error.code}`} on ${url}:\n${error.stdout?.slice(-800)}${error.stderr?.slice(-400)}`;
    throw error.killed ? new H2loadHung(message) : new Error(message);
  });
  const [, , , done, succeeded, failed, errored, timeouts] = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out).map(Number);
  const [, , redirects, clientErrors, serverErrors] = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out).map(Number);
  const times = readFileSync(logFile, 'utf8').trim().split('\n').map((line) => Number(line.split('\t')[2])).sort((a, b) => a - b);
  rmSync(logFile);
  const failures = failed + errored + timeouts + redirects + clientErrors + serverErrors;
  return {
    requests: succeeded,
    rps: Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)[1]),
    p99ms: (times[Math.min(times.length - 1, Math.floor(times.length * 0.99))] ?? NaN) / 1000,
    // Data frames' payload only, with what was in flight at the end: a short answer still shows.
    bytesPerRequest: Number(/traffic: .*\((\d+)\) data/.exec(out)[1]) / done,
    errors: failures > 0 || succeeded === 0 ? out : undefined,
  };
}
