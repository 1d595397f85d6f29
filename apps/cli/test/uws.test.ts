import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uwsUnavailableReason } from '@chaussette/backend-uws/engine';
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  expectOneLineError,
  freePort,
  get,
  getWhenListening,
  killAll,
  listeningSocket,
  runCli,
  skipUnlessServable,
  startCli,
  startWorkersOnOneSocket,
  waitForInFlight,
} from './helpers.js';

afterEach(killAll);

describe('--backend uws', () => {
  beforeEach((context) => skipUnlessServable('uws', context));

  test('two processes on one inherited socket both answer; SIGTERM finishes the request in flight', async () => {
    const { workers, port, where } = await startWorkersOnOneSocket(['fetch-workers.mjs', '--backend', 'uws']);
    for (const worker of workers) {
      expect(worker.output()).toMatch(/Using the uws backend \(uWebSockets\.js \d+\.\d+\.\d+/);
      expect(worker.addresses).toEqual([`fd://3 (127.0.0.1:${port})`]);
    }
    const pids = new Set<number>();
    for (let attempt = 0; attempt < 200 && pids.size < 2; attempt++) {
      const reply = await get(where, '/json', { method: 'POST', body: '{"item":"socks"}', headers: { 'content-type': 'application/json' } });
      expect(reply.status).toBe(201);
      const body = JSON.parse(reply.body) as { received: unknown; by: number };
      expect(body.received).toEqual({ item: 'socks' });
      pids.add(body.by);
    }
    expect(pids).toEqual(new Set(workers.map((worker) => worker.child.pid)));

    const slow = get(where, '/slow');
    const busy = await waitForInFlight(workers);
    const exit = busy.stop('SIGTERM');
    const reply = await slow;
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ slow: 'done', by: busy.child.pid });
    expect(await exit).toBe(0);
    const survivor = workers.find((worker) => worker !== busy)!;
    for (let index = 0; index < 5; index++) expect(JSON.parse((await get(where)).body)).toEqual({ pid: survivor.child.pid });
    expect(await survivor.stop()).toBe(0);
  });

  test('after taking over an inherited socket, the process listens on that socket only (no placeholder left open)', async () => {
    const { server, fd, port } = await listeningSocket();
    const cli = await startCli(['fetch-workers.mjs', '--backend', 'uws', '--fd', '3'], { stdio: ['ignore', 'pipe', 'pipe', fd] });
    server.close();
    expect(listeningPortsOf(cli.child.pid!)).toEqual([port]);
    expect(await cli.stop()).toBe(0);
  });

  test('systemd socket activation: the connection that started it, waiting in the backlog, is answered', async (context) => {
    try {
      execFileSync('systemd-socket-activate', ['--version'], { stdio: 'ignore' });
    } catch {
      context.skip('systemd-socket-activate is not installed');
    }
    const port = await freePort();
    const starting = startCli(['fetch-workers.mjs', '--backend', 'uws'], { wrapper: ['systemd-socket-activate', '-l', `127.0.0.1:${port}`] });
    const reply = await getWhenListening(`127.0.0.1:${port}`);
    const cli = await starting;
    expect(JSON.parse(reply.body)).toEqual({ pid: cli.child.pid });
    expect(await cli.stop()).toBe(0);
  });

  test('an Express app: routing, params, express.json(), res.json/res.send/res.redirect, 404, and 500 for a throw', async () => {
    const cli = await startCli(['express-routes.cjs', '--backend', 'uws', '--port', '0']);
    const where = cli.addresses[0]!;
    expect(cli.output()).toContain('Application is an Express app');
    const hello = await get(where);
    expect(hello).toMatchObject({ status: 200, body: 'hello from express' });
    expect(hello.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(hello.headers.etag).toBeDefined();
    const user = await get(where, '/api/users/42?q=x');
    expect(JSON.parse(user.body)).toEqual({ id: '42', q: 'x', ip: '127.0.0.1' });
    const created = await get(where, '/api/users', { method: 'POST', body: '{"name":"ada"}', headers: { 'content-type': 'application/json' } });
    expect(created.status).toBe(201);
    expect(JSON.parse(created.body)).toEqual({ created: { name: 'ada' } });
    const badJson = await get(where, '/api/users', { method: 'POST', body: '{nope', headers: { 'content-type': 'application/json' } });
    expect(badJson.status).toBe(400);
    const redirect = await get(where, '/redirect');
    expect(redirect.status).toBe(302);
    expect(redirect.headers.location).toBe('/');
    expect((await get(where, '/missing')).status).toBe(404);
    const boom = await get(where, '/boom');
    expect(boom.status).toBe(500);
    expect((await get(where)).status).toBe(200);
    expect(await cli.stop()).toBe(0);
  });

  test('what the node compatibility layer does not cover fails loudly: writing to req.socket is a 500 and a logged error', async () => {
    const cli = await startCli(['raw-socket.cjs', '--backend', 'uws', '--port', '0']);
    const reply = await get(cli.addresses[0]!);
    expect(reply.status).toBe(500);
    expect(await cli.stop()).toBe(0);
    expect(cli.output()).toContain('Writing to req.socket is not supported by the uws backend');
  });

  test("uWebSockets.js's slow JavaScript fallback is refused with one clear line", async (context) => {
    const unavailable = uwsUnavailableReason('uws-20.30');
    if (unavailable) context.skip(unavailable);
    // uWebSockets.js 20.30 (@trufflesuite) loads its fallback instead of the binary when asked to (as when the binary does not load).
    const result = await runCli(['fetch-workers.mjs', '--backend', 'uws', '--port', '0'], { env: { CHAUSSETTE_UWS_MODULE: 'uws-20.30', UWS_USE_FALLBACK: '1' } });
    expect(result.code).not.toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/fell back to a slow JavaScript imitation, which chaussette does not serve/);
    expect(result.stdout).not.toContain('Serving on');
  });

  test.for([
    ['20.57', {}, /^HTTP\/1\.1 505 /],
    ['20.30', { CHAUSSETTE_UWS_MODULE: 'uws-20.30' }, /^$/],
  ] as const)('HTTP/1.0 requests get 505 from uWebSockets.js 20.57, no answer from 20.30: the documented limit holds (%s)', async ([_release, env, expected], context) => {
    const unavailable = uwsUnavailableReason('CHAUSSETTE_UWS_MODULE' in env ? env.CHAUSSETTE_UWS_MODULE : undefined);
    if (unavailable) context.skip(unavailable);
    const cli = await startCli(['fetch-workers.mjs', '--backend', 'uws', '--port', '0'], { env });
    const [host, port] = [cli.addresses[0]!.split(':')[0]!, Number(cli.addresses[0]!.split(':')[1])];
    const socket = connect(port, host);
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.write('GET / HTTP/1.0\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    socket.destroy();
    // If a later uWebSockets.js answers HTTP/1.0, this fails: then update the README's limits.
    expect(answer).toMatch(expected);
    expect((await get(cli.addresses[0]!)).status).toBe(200);
    expect(await cli.stop()).toBe(0);
  });
});

describe('a uWebSockets.js build this Node.js cannot run: one line, exit 1, nothing served', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'chaussette-uws-builds-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const runningAbi = Number(process.versions.modules);
  const otherAbis = [115, 127, 137, 141, 147].filter((abi) => abi !== runningAbi).slice(0, 2);
  const NODE_OF_ABI: Record<number, number> = { 115: 20, 127: 22, 137: 24, 141: 25, 147: 26 };

  /** A stand-in uWebSockets.js package: `uws.js` as its main, and (empty) binaries for these ABIs. */
  function fakeBuild(name: string, abis: number[], main: string): string {
    const directory = join(scratch, name);
    mkdirSync(directory);
    writeFileSync(join(directory, 'package.json'), JSON.stringify({ name, version: '20.99.0', main: 'uws.js' }));
    writeFileSync(join(directory, 'uws.js'), main);
    for (const abi of abis) writeFileSync(join(directory, `uws_${process.platform}_${process.arch}_${abi}.node`), '');
    return directory;
  }

  test('a build without a binary for this Node.js: the Node.js versions it has, and the other backends', async () => {
    const build = fakeBuild('build-without-this-abi', otherAbis, "throw new Error('not to be loaded');\n");
    const result = await runCli(['fetch-workers.mjs', '--backend', 'uws', '--port', '0'], { env: { CHAUSSETTE_UWS_MODULE: build } });
    expectOneLineError(
      result,
      `chaussette: error: uWebSockets.js 20.99.0 (build-without-this-abi) has no binary for Node.js ${process.version} (ABI ${runningAbi}, ${process.platform}-${process.arch}): ` +
        `it has binaries for Node.js ${NODE_OF_ABI[otherAbis[0]!]} and ${NODE_OF_ABI[otherAbis[1]!]} only. Use one of those Node.js versions, or --backend node or --backend fastify`,
    );
    expect(result.stdout).not.toContain('Serving on');
  });

  test('a build whose binary for this Node.js gives way to a JavaScript imitation', async () => {
    const build = fakeBuild('build-that-falls-back', [runningAbi], "console.warn('Falling back to a NodeJS implementation');\nmodule.exports = { App() {} };\n");
    const result = await runCli(['fetch-workers.mjs', '--backend', 'uws', '--port', '0'], { env: { CHAUSSETTE_UWS_MODULE: build } });
    expectOneLineError(result, /^chaussette: error: uWebSockets\.js 20\.99\.0 \(build-that-falls-back\) could not load its native binary .* fell back to a slow JavaScript imitation, which chaussette does not serve/);
    expect(result.stdout).not.toContain('Serving on');
  });

  test('the build this package depends on, where it has no binary for this Node.js', async (context) => {
    if (!uwsUnavailableReason()) context.skip(`uWebSockets.js has a binary for Node.js ${process.version} (ABI ${runningAbi}): the tests above serve with it`);
    const result = await runCli(['fetch-workers.mjs', '--backend', 'uws', '--port', '0']);
    expectOneLineError(
      result,
      /^chaussette: error: uWebSockets\.js 20\.\d+\.\d+ \(@btc-vision\/uwebsockets\.js\) has no binary for Node\.js v\d+\.\d+\.\d+ \(ABI \d+, [\w-]+\): it has binaries for Node\.js 20, 22, 24 and 25 only\. Use one of those Node\.js versions, or --backend node or --backend fastify$/,
    );
    expect(result.stdout).not.toContain('Serving on');
  });
});

/** The TCP ports a process listens on: its socket fds matched against /proc/net/tcp{,6} rows in LISTEN state. */
function listeningPortsOf(pid: number): number[] {
  const inodes = new Set<string>();
  for (const entry of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${entry}`);
      if (link.startsWith('socket:[')) inodes.add(link.slice('socket:['.length, -1));
    } catch {
      // closed meanwhile
    }
  }
  const rows = ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) => readFileSync(file, 'latin1').split('\n').slice(1));
  return rows
    .map((row) => row.trim().split(/\s+/))
    .filter((fields) => fields[3] === '0A' && inodes.has(fields[9]!))
    .map((fields) => Number.parseInt(fields[1]!.split(':').pop()!, 16));
}
