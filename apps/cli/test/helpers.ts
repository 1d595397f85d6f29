import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { uwsUnavailableReason } from '@chaussette/backend-uws/engine';
import { expect, type TestContext } from 'vitest';

export const CLI = fileURLToPath(new URL('../bin/chaussette.js', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

export interface CliProcess {
  child: ChildProcess;
  /** Everything printed so far, stdout and stderr. */
  output(): string;
  /** The `Serving on …` addresses, once all are printed. */
  addresses: string[];
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  stdio?: StdioOptions;
  /** The command to run instead of node (e.g. systemd-socket-activate), with its own arguments first. */
  wrapper?: string[];
  /** Ready when this log file (--log-output) has the start-up lines, instead of stdout. */
  logFile?: string;
}

const running = new Set<ChildProcess>();

/** Kills what a test left running; call it in afterEach. */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

function spawnCli(args: string[], options: SpawnOptions): ChildProcess {
  const [command, ...prefix] = options.wrapper ?? [process.execPath];
  const child = spawn(command!, [...prefix, ...(options.wrapper ? [process.execPath] : []), CLI, ...args], {
    cwd: options.cwd ?? FIXTURES,
    // Pinned, so that the install commands chaussette prints do not depend on who runs the tests.
    env: { ...process.env, npm_config_user_agent: 'npm/11.0.0 node/v20.0.0 linux x64', ...options.env },
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Starts chaussette and resolves once it prints `Using the … backend` (the last start-up line). */
export async function startCli(args: string[], options: SpawnOptions = {}): Promise<CliProcess> {
  const child = spawnCli(args, options);
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const ready = () => /Using the \S+ backend/.test(options.logFile ? readLog(options.logFile) : text);
    const check = () => ready() && resolve();
    child.stdout?.on('data', check);
    if (options.logFile) {
      const poll = setInterval(() => ready() && (clearInterval(poll), resolve()), 20);
      child.once('exit', () => clearInterval(poll));
    }
    child.once('exit', (code) => reject(new Error(`chaussette exited with ${code} before serving:\n${text}`)));
  });
  return {
    child,
    output: () => (options.logFile ? readLog(options.logFile) : text),
    addresses: [...(options.logFile ? readLog(options.logFile) : text).matchAll(/Serving on (.+)$/gm)].map((match) => match[1]!),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs chaussette to its exit (for commands that fail or print and exit). */
export async function runCli(args: string[], options: SpawnOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a new connection; `where` is `host:port` as chaussette prints it, or `unix:/path`. */
export function get(where: string, path = '/', init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const target = where.startsWith('unix:')
    ? { socketPath: where.slice('unix:'.length) }
    : { host: where.slice(0, where.lastIndexOf(':')).replace(/^\[|\]$/g, ''), port: Number(where.slice(where.lastIndexOf(':') + 1)) };
  return new Promise((resolve, reject) => {
    const req = httpRequest({ ...target, path, method: init.method ?? 'GET', headers: init.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** A listening socket owned by the test, as a process manager would own it: its fd goes to the workers. */
export async function listeningSocket(): Promise<{ server: Server; fd: number; port: number }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  return { server, fd, port: (server.address() as { port: number }).port };
}

/** Retries until something listens at `where` (the server is still starting). */
export async function getWhenListening(where: string): Promise<Awaited<ReturnType<typeof get>>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await get(where);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if ((code !== 'ECONNREFUSED' && code !== 'ENOENT') || attempt > 200) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/** The worker that printed `slow request started`. */
export async function waitForInFlight(workers: CliProcess[]): Promise<CliProcess> {
  for (;;) {
    const busy = workers.find((worker) => worker.output().includes('slow request started'));
    if (busy) return busy;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function freePort(): Promise<number> {
  const { server, port } = await listeningSocket();
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * `count` chaussette processes serving one socket this test binds and hands over as fd 3, as a process
 * manager does; the test's own copy is closed once they serve. `where` is `127.0.0.1:PORT`.
 */
export async function startWorkersOnOneSocket(args: string[], count = 2): Promise<{ workers: CliProcess[]; port: number; where: string }> {
  const { server, fd, port } = await listeningSocket();
  const workers: CliProcess[] = [];
  for (let index = 0; index < count; index++) {
    workers.push(await startCli([...args, '--fd', '3'], { stdio: ['ignore', 'pipe', 'pipe', fd] }));
  }
  server.close(); // the workers hold their own copies
  return { workers, port, where: `127.0.0.1:${port}` };
}

/** Skips the running test, saying why, when `backend` cannot serve on this Node.js: uws, when its uWebSockets.js build has no binary for it. */
export function skipUnlessServable(backend: string, context: Pick<TestContext, 'skip'>): void {
  const reason = backend === 'uws' ? uwsUnavailableReason() : undefined;
  if (reason) context.skip(reason);
}

/** A run that failed as bad input must: exit code 1, and one line on stderr, `chaussette: error: …`, with no stack trace. */
export function expectOneLineError(result: { code: number | null; stderr: string }, fragment: string | RegExp): void {
  expect(result.code).toBe(1);
  const lines = result.stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^chaussette: error: /);
  expect(lines[0]).toMatch(fragment);
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/** Polls `probe` until it returns something truthy, failing with `what` after `timeoutMs`. */
export async function until<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 10_000): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as Truthy<T>;
    if (Date.now() > deadline) throw new Error(`Gave up after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}
