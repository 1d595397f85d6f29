// fixtures/circus_like.py does what Circus does with a [socket:web] and `use_sockets = True` (binds the
// socket, TCP or unix, starts workers that inherit it, restarts one with SIGTERM and a new process), and
// these tests restart every worker in turn under non-stop load, plain and over TLS with HTTP/2 clients.
// CI has no Circus: real circusd runs are by hand, from Circus's source (docs/deployment.md says what they showed).
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, onTestFinished, test } from 'vitest';
import { sharedTestCertificates } from '@chaussette/testkit';
import { CLI, FIXTURES, get, skipUnlessServable } from './helpers.js';
import { loadGenerator } from './load.js';

const managers = new Set<ReturnType<typeof spawn>>();
afterEach(() => {
  for (const manager of managers) manager.kill('SIGKILL');
  managers.clear();
});

function startManager(backend: string, { unixPath, workerFlags = [] }: { unixPath?: string; workerFlags?: string[] } = {}) {
  const worker = [process.execPath, CLI, '--fd', '{fd}', '--backend', backend, ...workerFlags, 'fetch-workers.mjs'];
  const manager = spawn('python3', ['circus_like.py', ...(unixPath ? ['--unix', unixPath] : []), '3', ...worker], {
    cwd: FIXTURES,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  managers.add(manager);
  const events: string[] = [];
  const waiting: { pattern: RegExp; resolve: (match: RegExpMatchArray) => void }[] = [];
  let buffer = '';
  manager.stdout.setEncoding('utf8');
  manager.stdout.on('data', (chunk: string) => {
    buffer += chunk;
    for (let index = buffer.indexOf('\n'); index >= 0; index = buffer.indexOf('\n')) {
      const line = buffer.slice(0, index);
      buffer = buffer.slice(index + 1);
      if (!/^(listening|started|exited) /.test(line)) continue; // the workers' own log lines
      events.push(line);
      for (const waiter of [...waiting]) {
        const match = line.match(waiter.pattern);
        if (match) {
          waiting.splice(waiting.indexOf(waiter), 1);
          waiter.resolve(match);
        }
      }
    }
  });
  return {
    events,
    next: (pattern: RegExp) => new Promise<RegExpMatchArray>((resolve) => waiting.push({ pattern, resolve })),
    send: (command: string) => manager.stdin.write(`${command}\n`),
    exited: once(manager, 'exit'),
  };
}

const hasPython = (() => {
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
// CI (.ci/run) sets this: there, a missing python3 fails these tests instead of skipping them.
const required = process.env.CHAUSSETTE_REQUIRE_MANAGERS === '1';

describe.skipIf(!hasPython && !required).each(['node', 'fastify', 'uws'])('a Circus-style manager, --backend %s', (backend) => {
  beforeEach((context) => skipUnlessServable(backend, context));
  test.each(['tcp', 'unix'])('each of three workers on its %s socket restarted in turn (SIGTERM, then a new process) under non-stop load: zero failed requests', async (family) => {
    const directory = mkdtempSync(join(tmpdir(), 'chaussette-circus-'));
    onTestFinished(() => rmSync(directory, { recursive: true, force: true }));
    const manager = startManager(backend, { unixPath: family === 'unix' ? join(directory, 'web.sock') : undefined });
    const listening = (await manager.next(/^listening (.+)/))[1]!;
    const where = listening.startsWith('unix:') ? listening : `127.0.0.1:${listening}`;
    const answering = async (count: number) => {
      const pids = new Set<number>();
      for (let attempt = 0; pids.size < count; attempt++) {
        try {
          pids.add((JSON.parse((await get(where)).body) as { pid: number }).pid);
        } catch (error) {
          if (attempt > 400) throw error; // still starting
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      }
    };
    await answering(3);

    const load = loadGenerator(where);
    await restartEachWorker(manager, load);
    const result = await load.stop();
    expect(result.errors).toEqual([]);
    expect(result.failed).toBe(0);
    expect(result.ok).toBeGreaterThan(50);
    await quitCleanly(manager);
  }, 60_000);

  test('over TLS (--certfile, --keyfile), each of three workers restarted in turn under TLS keep-alive, new-connection, pipelined and h2 load: zero failed requests', async () => {
    const { ca, localhost } = sharedTestCertificates();
    const manager = startManager(backend, { workerFlags: ['--certfile', localhost.certFile, '--keyfile', localhost.keyFile] });
    const where = `127.0.0.1:${(await manager.next(/^listening (\d+)/))[1]!}`;
    // uWS has no HTTP/2: over TLS it offers http/1.1 alone by ALPN, so there are no h2 loops on uws.
    const h2 = backend !== 'uws';
    // The manager's socket is bound: connections wait in its backlog until the workers accept them.
    const load = loadGenerator(where, { tls: { ca: ca.cert }, h2 });
    while (load.pids().size < 3) await new Promise((resolve) => setTimeout(resolve, 25));
    await restartEachWorker(manager, load);
    const result = await load.stop();
    expect(result.errors).toEqual([]);
    expect(result.failed).toBe(0);
    for (const kind of ['new-connection', 'keep-alive', 'pipelined', ...(h2 ? ['h2' as const] : [])] as const) {
      expect(result.byKind[kind].ok, kind).toBeGreaterThan(0);
    }
    await quitCleanly(manager);
  }, 60_000);
});

type Manager = ReturnType<typeof startManager>;

/** `restart I` for each worker in turn, each time until the new worker has answered under `load`. */
async function restartEachWorker(manager: Manager, load: ReturnType<typeof loadGenerator>): Promise<void> {
  for (const index of [0, 1, 2]) {
    const next = manager.next(new RegExp(`^started ${index} (\\d+)`));
    manager.send(`restart ${index}`);
    await load.answered(Number((await next)[1])); // the new worker loaded the app and serves
  }
}

/** Every worker, the restarted ones and those the manager stops at `quit`, exited with 0. */
async function quitCleanly(manager: Manager): Promise<void> {
  manager.send('quit');
  await manager.exited;
  expect(manager.events.filter((line) => line.startsWith('exited'))).toEqual([
    'exited 0 0', 'exited 1 0', 'exited 2 0', 'exited 0 0', 'exited 1 0', 'exited 2 0',
  ]);
}
