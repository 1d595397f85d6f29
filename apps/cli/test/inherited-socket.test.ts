import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { type CliProcess, freePort, get, getWhenListening, killAll, skipUnlessServable, startCli, startWorkersOnOneSocket, waitForInFlight } from './helpers.js';

afterEach(killAll);

describe('serving on a socket the parent process owns', () => {
  test('two chaussette processes share one inherited socket (--fd 3); SIGTERM lets a slow request finish', async () => {
    // Like a manager that hands the socket over: the workers hold their own copies.
    const { workers, port, where } = await startWorkersOnOneSocket(['fetch-handler.mjs']);
    for (const worker of workers) expect(worker.addresses).toEqual([`fd://3 (127.0.0.1:${port})`]);

    const pids = new Set<string>();
    for (let attempt = 0; attempt < 200 && pids.size < 2; attempt++) {
      const reply = await get(where);
      expect(reply.status).toBe(200);
      pids.add(reply.body);
    }
    expect(pids).toEqual(new Set(workers.map((worker) => `pid ${worker.child.pid}`)));

    const [first, second] = workers as [CliProcess, CliProcess];
    // A slow request lands on one of the two; stop that one while it is in flight.
    const slow = get(where, '/slow?ms=800');
    const busy = await waitForInFlight(workers);
    const code = busy.stop('SIGTERM');
    const reply = await slow;
    expect(reply.status).toBe(200);
    expect(reply.body).toBe(`slow done by ${busy.child.pid}`);
    expect(await code).toBe(0);
    // The other worker still serves on the shared socket.
    const survivor = busy === first ? second : first;
    for (let index = 0; index < 5; index++) expect((await get(where)).body).toBe(`pid ${survivor.child.pid}`);
    expect(await survivor.stop('SIGINT')).toBe(0);
  });

  const hasSocketActivate = (() => {
    try {
      execFileSync('systemd-socket-activate', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  // systemd-socket-activate comes with systemd; without it there is nothing real to test against.
  // It binds the sockets, waits for the first connection, then execs chaussette with LISTEN_FDS set.
  test.skipIf(!hasSocketActivate)('systemd socket activation: LISTEN_FDS with no bind flag, LISTEN_FDNAMES picks by name', async () => {
    const port = await freePort();
    const starting = startCli(['--fd-name', 'web'], {
      wrapper: ['systemd-socket-activate', '-l', `127.0.0.1:${port}`, '--fdname=web'],
    });
    const reply = await getWhenListening(`127.0.0.1:${port}`);
    expect(reply.body).toBe('Hello world!\n');
    const cli = await starting;
    expect(cli.addresses).toEqual([`fd://3 (127.0.0.1:${port})`]);
    expect(await cli.stop()).toBe(0);
  });

  test.skipIf(!hasSocketActivate).for(['node', 'fastify', 'uws'])(
    'systemd socket activation on a unix socket, --backend %s: shown by its path, a request in flight finished on SIGTERM, the file left to systemd',
    async (backend, context) => {
      skipUnlessServable(backend, context);
      const directory = mkdtempSync(join(tmpdir(), 'chaussette-fd-'));
      const path = join(directory, 'activated.sock');
      try {
        const starting = startCli(['--backend', backend, 'fetch-handler.mjs'], { wrapper: ['systemd-socket-activate', '-l', path] });
        expect((await getWhenListening(`unix:${path}`)).body).toMatch(/^pid \d+$/);
        const cli = await starting;
        expect(cli.addresses).toEqual([`fd://3 (unix:${path})`]);
        const slow = get(`unix:${path}`, '/slow?ms=500');
        await waitForInFlight([cli]);
        const code = cli.stop();
        expect((await slow).body).toBe(`slow done by ${cli.child.pid}`);
        expect(await code).toBe(0);
        expect(cli.output()).not.toMatch(/error|exception/i);
        expect(existsSync(path)).toBe(true); // the socket file belongs to whoever bound it
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    },
  );

  test.skipIf(!hasSocketActivate)('systemd socket activation: every passed socket is served; an unknown name is an error', async () => {
    const [one, two] = [await freePort(), await freePort()];
    const starting = startCli([], { wrapper: ['systemd-socket-activate', '-l', `127.0.0.1:${one}`, '-l', `127.0.0.1:${two}`] });
    expect((await getWhenListening(`127.0.0.1:${two}`)).status).toBe(200);
    const cli = await starting;
    expect(cli.addresses).toEqual([`fd://3 (127.0.0.1:${one})`, `fd://4 (127.0.0.1:${two})`]);
    expect((await get(`127.0.0.1:${one}`)).status).toBe(200);
    expect(await cli.stop()).toBe(0);

    const port = await freePort();
    const wrong = startCli(['--fd-name', 'admin'], {
      wrapper: ['systemd-socket-activate', '-l', `127.0.0.1:${port}`, '--fdname=web'],
    }).catch((error: Error) => error.message);
    await getWhenListening(`127.0.0.1:${port}`).catch(() => undefined); // the connection that launches it
    expect(await wrong).toContain('--fd-name admin: systemd passed no socket of that name (names passed: web)');
  });
});

/** The first request also launches the service, once systemd-socket-activate listens. */
