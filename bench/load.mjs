// One load run against one server: wrk where installed, autocannon (from npm) otherwise.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
const run = async (command, args) => (await promisify(execFile)(command, args, { maxBuffer: 16 * 1024 * 1024 })).stdout;

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
