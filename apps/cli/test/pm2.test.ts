// PM2 from the npm registry runs chaussette from an ecosystem.config.js as docs/deployment.md shows it:
// cluster mode (node:cluster workers sharing their primary's socket) on TCP and on a unix socket, `pm2
// reload` one instance at a time under non-stop load, each instance's log in its own file, wait_ready,
// kill_timeout. Each describe runs a PM2 daemon of its own, its PM2_HOME in a temporary directory.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, onTestFinished, test } from 'vitest';
import { uwsUnavailableReason } from '@chaussette/backend-uws/engine';
import { CLI, FIXTURES, freePort, get, skipUnlessServable, until } from './helpers.js';
import { loadGenerator } from './load.js';

// Asynchronous on purpose: a blocked event loop (execFileSync) stalls the load generator's own
// connections while PM2 works, and the server then closes them as idle.
const run = promisify(execFile);
// pm2 is a devDependency of this package: unlike supervisord (supervisor.test.ts), it is always there,
// so CHAUSSETTE_REQUIRE_MANAGERS has no missing manager to turn from a skip into a failure.
const PM2_BIN = join(dirname(createRequire(import.meta.url).resolve('pm2/package.json')), 'bin', 'pm2');
const GRACEFUL_TIMEOUT_SECONDS = 10;

interface Pm2App {
  args: string;
  exec_mode?: 'cluster' | 'fork';
  instances?: number;
  kill_timeout?: number;
}

interface Pm2Daemon {
  directory: string;
  pm2(...args: string[]): Promise<string>;
  /** Writes ecosystem.config.js with the app `web` and starts it; resolves once `pm2 start` returns. */
  start(app: Pm2App): Promise<void>;
  /** The pids of the instances of `web` PM2 says are online. */
  onlinePids(): Promise<number[]>;
  /** What PM2 wrote to $PM2_HOME/logs/web-<out|error>-<N>.log, every instance's file, or one. */
  appLog(stream: 'out' | 'error', instance?: number): string;
  /** $PM2_HOME/pm2.log, PM2's own log. */
  daemonLog(): string;
  kill(): Promise<void>;
}

function pm2Daemon(): Pm2Daemon {
  const directory = mkdtempSync(join(tmpdir(), 'chaussette-pm2-'));
  const home = join(directory, 'pm2home');
  // Explicit: the tests run under pnpm, which sets npm_config_user_agent, and PM2 hands its own
  // environment on to the apps it starts. In fork mode PM2 runs a .js script with the `node` on PATH:
  // this one, rather than a shim (pnpm's node_modules/.bin/node is a shell script, whose pid PM2 would watch).
  const env = { PATH: `${dirname(process.execPath)}:${process.env.PATH}`, HOME: process.env.HOME, PM2_HOME: home };
  const pm2 = async (...args: string[]) => (await run(process.execPath, [PM2_BIN, ...args], { env, timeout: 30_000 })).stdout;
  const readLog = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
  return {
    directory,
    pm2,
    async start(app) {
      const ecosystem = join(directory, 'ecosystem.config.js');
      writeFileSync(ecosystem, ecosystemFile(app));
      await pm2('start', ecosystem);
    },
    async onlinePids() {
      const list = JSON.parse(await pm2('jlist')) as { name: string; pid: number; pm2_env: { status: string } }[];
      return list.filter((entry) => entry.name === 'web' && entry.pm2_env.status === 'online').map((entry) => entry.pid);
    },
    appLog(stream, instance) {
      const logs = join(home, 'logs');
      const files = instance === undefined ? readdirSync(logs).filter((name) => name.startsWith(`web-${stream}-`)) : [`web-${stream}-${instance}.log`];
      return files.map((name) => readLog(join(logs, name))).join('');
    },
    daemonLog: () => readLog(join(home, 'pm2.log')),
    async kill() {
      if (existsSync(join(home, 'pm2.pid'))) await pm2('kill');
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** ecosystem.config.js as docs/deployment.md writes it: the CLI's bin as the script, kill_timeout above --graceful-timeout. */
function ecosystemFile(app: Pm2App): string {
  const web = {
    name: 'web',
    script: CLI,
    cwd: FIXTURES,
    exec_mode: 'cluster',
    instances: 2,
    wait_ready: true,
    listen_timeout: 10_000,
    kill_timeout: (GRACEFUL_TIMEOUT_SECONDS + 5) * 1000,
    ...app, // a setting given as undefined is left out of the file
  };
  return `module.exports = ${JSON.stringify({ apps: [web] }, null, 2)};\n`;
}

/** The pids answering at `where`, asking several at once until `count` have answered (the kernel or the primary may favour one). */
async function answeringPids(where: string, count: number): Promise<Set<number>> {
  const pids = new Set<number>();
  await until(`${count} instances answering at ${where}`, async () => {
    const replies = await Promise.all(Array.from({ length: 4 }, () => get(where)));
    for (const reply of replies) pids.add((JSON.parse(reply.body) as { pid: number }).pid);
    return pids.size >= count;
  });
  return pids;
}

/** `pm2 reload web` under non-stop load on `where`; resolves with the load's result once the new instances have answered it. */
async function reloadUnderLoad(pm2: Pm2Daemon, where: string) {
  const before = await pm2.onlinePids();
  const load = loadGenerator(where);
  await until('the load to be answered before the reload', () => load.pids().size > 0);
  await pm2.pm2('reload', 'web');
  const after = await pm2.onlinePids();
  await until('the new instances to answer under load', () => after.every((pid) => load.pids().has(pid)));
  const result = await load.stop();
  return { before, after, result };
}

function expectNothingLost({ before, after, result }: Awaited<ReturnType<typeof reloadUnderLoad>>): void {
  expect(after).toHaveLength(before.length);
  expect(after.filter((pid) => before.includes(pid))).toEqual([]); // every instance was replaced
  expect(result.errors).toEqual([]);
  expect(result.failed).toBe(0);
  for (const kind of ['new-connection', 'keep-alive', 'pipelined'] as const) expect(result.byKind[kind].ok, kind).toBeGreaterThan(0);
}

describe.each(['node', 'fastify'])('PM2 cluster mode, 2 instances, --backend %s on TCP', (backend) => {
  let pm2: Pm2Daemon;
  let where: string;
  let startMs: number;

  beforeAll(async () => {
    pm2 = pm2Daemon();
    where = `127.0.0.1:${await freePort()}`;
    const started = Date.now();
    await pm2.start({ args: `--backend ${backend} --graceful-timeout ${GRACEFUL_TIMEOUT_SECONDS} --bind ${where} held-until-stop.mjs` });
    startMs = Date.now() - started;
  }, 30_000);
  afterAll(() => pm2?.kill(), 30_000);

  test("both instances answer, each said 'ready' (wait_ready) once serving", async () => {
    const pids = await pm2.onlinePids();
    expect(pids).toHaveLength(2);
    expect(await answeringPids(where, 2)).toEqual(new Set(pids));
    // Without 'ready', `pm2 start` waits for listen_timeout (10 s) before it counts an instance as started.
    expect(startMs).toBeLessThan(8000);
  });

  test("each instance's lines are in its own web-out-<N>.log, not PM2's pm2.log, and no kill_timeout warning", async () => {
    const loggedPids = [0, 1].map((instance) => Number(/\[(\d+)\] \[INFO\] Using the \S+ backend/.exec(pm2.appLog('out', instance))?.[1]));
    expect(new Set(loggedPids)).toEqual(new Set(await pm2.onlinePids()));
    expect(pm2.daemonLog()).not.toMatch(/Using the/);
    expect(pm2.appLog('out')).not.toMatch(/kill_timeout/);
    expect(pm2.appLog('error')).toBe('');
  });

  test('`pm2 reload web` under new-connection, keep-alive and pipelined load: zero failed requests, and the new instances answer', async () => {
    expectNothingLost(await reloadUnderLoad(pm2, where));
  }, 30_000);

  test('a request in flight when `pm2 reload web` stops its instance finishes with 200 (kill_timeout above --graceful-timeout)', async () => {
    const startedBefore = heldRequestsStarted(pm2.appLog('out'));
    const reloadOnceHeld = async () => {
      await until('the held request to start', () => heldRequestsStarted(pm2.appLog('out')) > startedBefore);
      await pm2.pm2('reload', 'web');
    };
    // /held is answered 2 s after its instance is asked to stop.
    const [reply] = await Promise.all([get(where, '/held'), reloadOnceHeld()]);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ held: 'done' });
  }, 30_000);
});

function heldRequestsStarted(log: string): number {
  return log.split('held request started').length - 1;
}

describe('PM2 cluster mode, 2 instances, --backend node on a unix socket', () => {
  let pm2: Pm2Daemon;
  let socketPath: string;

  beforeAll(async () => {
    pm2 = pm2Daemon();
    socketPath = join(pm2.directory, 'web.sock');
    await pm2.start({ args: `--backend node --graceful-timeout ${GRACEFUL_TIMEOUT_SECONDS} --bind unix:${socketPath} fetch-workers.mjs` });
  }, 30_000);
  afterAll(() => pm2?.kill(), 30_000);

  test('`pm2 reload web` under load: both instances serve the socket, zero failed requests, and the socket file stays', async () => {
    expect(await answeringPids(`unix:${socketPath}`, 2)).toEqual(new Set(await pm2.onlinePids()));
    expectNothingLost(await reloadUnderLoad(pm2, `unix:${socketPath}`));
    expect(existsSync(socketPath)).toBe(true);
    expect(pm2.appLog('error')).toBe('');
  }, 30_000);

  test('`pm2 delete web` removes the socket file', async () => {
    await pm2.pm2('delete', 'web');
    await until('the socket file to be removed', () => !existsSync(socketPath));
  });
});

describe('PM2 cluster mode, --backend uws', () => {
  beforeEach((context) => skipUnlessServable('uws', context));
  let pm2: Pm2Daemon;

  beforeAll(() => {
    if (!uwsUnavailableReason()) pm2 = pm2Daemon(); // else each test says why it is skipped
  });
  afterAll(() => pm2?.kill(), 30_000);

  test('without --reuse-port each instance is refused at start in one line that says to add it', async () => {
    await pm2.start({ args: `--backend uws --bind 127.0.0.1:${await freePort()} fetch-workers.mjs` });
    onTestFinished(() => pm2.pm2('delete', 'web').then(() => undefined));
    const refusals = await until('a refusal in web-error-0.log and web-error-1.log', () => {
      const logs = [0, 1].map((instance) => pm2.appLog('error', instance));
      return logs.every(Boolean) && logs;
    });
    for (const line of refusals.join('').split('\n').filter(Boolean)) {
      expect(line).toMatch(/^chaussette: error: The uws backend binds its sockets itself, so node:cluster workers \(PM2's cluster mode\) cannot share 127\.0\.0\.1:\d+ through their primary: add --reuse-port/);
    }
    expect(pm2.appLog('out')).not.toMatch(/Serving on/);
  });

  test('with --reuse-port both instances answer; `pm2 reload web` under load fails no keep-alive or pipelined request', async () => {
    const where = `127.0.0.1:${await freePort()}`;
    await pm2.start({ args: `--backend uws --reuse-port --graceful-timeout ${GRACEFUL_TIMEOUT_SECONDS} --bind ${where} fetch-workers.mjs` });
    expect(await answeringPids(where, 2)).toEqual(new Set(await pm2.onlinePids()));
    const { before, after, result } = await reloadUnderLoad(pm2, where);
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);
    for (const kind of ['keep-alive', 'pipelined'] as const) {
      expect(result.byKind[kind].failed, kind).toBe(0);
      expect(result.byKind[kind].ok, kind).toBeGreaterThan(0);
    }
    // A connection still queued on an instance's SO_REUSEPORT listener when it closes is reset, unless the
    // kernel moves it to another listener of the port (net.ipv4.tcp_migrate_req, docs/deployment.md).
    if (readFileSync('/proc/sys/net/ipv4/tcp_migrate_req', 'utf8').trim() === '1') expect(result.failed).toBe(0);
    for (const error of result.errors) expect(error).toMatch(/^new-connection: /);
  }, 30_000);
});

describe('PM2 fork mode, kill_timeout left unset', () => {
  let pm2: Pm2Daemon;

  beforeAll(() => {
    pm2 = pm2Daemon();
  });
  afterAll(() => pm2?.kill(), 30_000);

  test("chaussette serves and warns in web-out-0.log that PM2's default kill_timeout ends before --graceful-timeout", async () => {
    const where = `127.0.0.1:${await freePort()}`;
    await pm2.start({ args: `--bind ${where} fetch-workers.mjs`, exec_mode: 'fork', instances: 1, kill_timeout: undefined }); // left unset
    expect(await answeringPids(where, 1)).toEqual(new Set(await pm2.onlinePids()));
    expect(pm2.appLog('out', 0)).toMatch(
      /\[WARNING\] PM2 kills this process 1\.6 s after asking it to stop \(kill_timeout, PM2's default\), before --graceful-timeout 30 s ends: .*Set kill_timeout: 35000 in ecosystem\.config\.js/,
    );
  });
});
