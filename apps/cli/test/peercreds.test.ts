import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { expectOneLineError, get, killAll, runCli, startCli } from './helpers.js';

afterEach(killAll);
const directory = mkdtempSync(join(tmpdir(), 'chaussette-peercreds-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

interface Answer {
  credentials: { pid: number; uid: number; gid: number } | null;
  server: number;
}

describe('--peercreds', () => {
  test.each([
    ['node', 'node'],
    ['node', 'fetch'],
    ['fastify', 'node'],
    ['fastify', 'fetch'],
  ])('%s backend, %s app: a unix-socket client gets its own pid, uid and gid; a TCP client none', async (backend, kind) => {
    const socket = join(directory, `${backend}-${kind}.sock`);
    const cli = await startCli([`peercreds.mjs:${kind}`, '--backend', backend, '--bind', `unix:${socket}`, '--bind', '127.0.0.1:0', '--peercreds']);
    const [unix, tcp] = cli.addresses;
    const overUnix = JSON.parse((await get(unix!)).body) as Answer;
    // This test process is the client: the server reports our pid, not its own.
    expect(overUnix.credentials).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
    expect(overUnix.server).toBe(cli.child.pid);
    expect((JSON.parse((await get(tcp!)).body) as Answer).credentials).toBeNull();
    expect(await cli.stop()).toBe(0);
  });

  test('without the flag, apps get no credentials', async () => {
    const socket = join(directory, 'off.sock');
    const cli = await startCli(['peercreds.mjs:fetch', '--bind', `unix:${socket}`]);
    expect((JSON.parse((await get(cli.addresses[0]!)).body) as Answer).credentials).toBeNull();
    expect(await cli.stop()).toBe(0);
  });

  test('on the uws backend: one line saying which backends have it', async () => {
    expectOneLineError(
      await runCli(['--backend', 'uws', '--bind', `unix:${join(directory, 'uws.sock')}`, '--peercreds']),
      "The uws backend cannot read a client's peer credentials (--peercreds). Use --backend fastify or node",
    );
  });

  test('with no unix socket to listen on: one line saying what to add', async () => {
    expectOneLineError(
      await runCli(['--host', '127.0.0.1', '--port', '0', '--peercreds']),
      '--peercreds gives apps the credentials of unix-socket clients, and this server listens on no unix socket: add --bind unix:/path',
    );
  });
});
