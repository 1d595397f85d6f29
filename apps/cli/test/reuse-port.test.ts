import { afterEach, describe, expect, test } from 'vitest';
import { type CliProcess, expectOneLineError, freePort, get, killAll, listeningSocket, runCli, skipUnlessServable, startCli } from './helpers.js';

afterEach(killAll);

const BACKENDS_ON_NODE_HTTP = ['node', 'fastify'];

/** Asks until both processes have answered: the kernel spreads new connections over a shared port. */
async function pidsAnswering(where: string, workers: CliProcess[]): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let attempt = 0; attempt < 200 && pids.size < workers.length; attempt++) {
    pids.add((JSON.parse((await get(where)).body) as { pid: number }).pid);
  }
  return pids;
}

describe('--reuse-port', () => {
  const sharing = (backend: string) => async () => {
    const port = await freePort();
    const args = ['fetch-workers.mjs', '--backend', backend, '--host', '127.0.0.1', '--port', String(port), '--reuse-port'];
    const workers = [await startCli(args), await startCli(args)];
    expect(await pidsAnswering(`127.0.0.1:${port}`, workers)).toEqual(new Set(workers.map((worker) => worker.child.pid)));
    for (const worker of workers) expect(await worker.stop()).toBe(0);
  };

  test('uws: two processes share one port, and both get connections', (context) => {
    skipUnlessServable('uws', context);
    return sharing('uws')();
  });

  test.each(BACKENDS_ON_NODE_HTTP)('%s: two processes share one port, and both get connections', (backend) => sharing(backend)());

  test.for(['node', 'fastify', 'uws'])('%s without it: a port another server holds is refused, not shared', async (backend, context) => {
    skipUnlessServable(backend, context);
    const { server, port } = await listeningSocket();
    try {
      expectOneLineError(
        await runCli(['--backend', backend, '--host', '127.0.0.1', '--port', String(port)]),
        `Cannot listen on 127.0.0.1:${port}: the address is already in use`,
      );
    } finally {
      server.close();
    }
  });

  test('uws without it: a second chaussette on the same port fails, where uSockets would share it', async (context) => {
    skipUnlessServable('uws', context);
    const port = await freePort();
    const first = await startCli(['fetch-workers.mjs', '--backend', 'uws', '--host', '127.0.0.1', '--port', String(port)]);
    expectOneLineError(
      await runCli(['fetch-workers.mjs', '--backend', 'uws', '--host', '127.0.0.1', '--port', String(port)]),
      `Cannot listen on 127.0.0.1:${port}: the address is already in use`,
    );
    expect(await first.stop()).toBe(0);
  });

  test('with an inherited socket: one line saying the manager sets that socket up', async () => {
    const { server, fd } = await listeningSocket();
    try {
      expectOneLineError(
        await runCli(['--fd', '3', '--reuse-port'], { stdio: ['ignore', 'pipe', 'pipe', fd] }),
        /--reuse-port applies to the ports chaussette binds itself, not to fd:\/\/3: an inherited socket is set up by the manager that passes it$/,
      );
    } finally {
      server.close();
    }
  });

  test.each([
    [['--bind', 'unix:/tmp/chaussette-reuse.sock'], /--reuse-port applies to the ports chaussette binds itself, not to unix:\/tmp\/chaussette-reuse\.sock: a unix socket has no port/],
    [['--port', '0', '--use-reloader'], /--reuse-port cannot be used with --use-reloader/],
  ])('with %j: one line saying why not', async (args, message) => {
    expectOneLineError(await runCli([...args, '--reuse-port']), message);
  });
});
