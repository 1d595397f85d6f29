// What ends a worker besides a signal: --max-requests, and errors outside any request.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { freePort, get, killAll, skipUnlessServable, startCli } from './helpers.js';
import { once } from 'node:events';

afterEach(() => killAll());

const exited = async (cli: Awaited<ReturnType<typeof startCli>>) =>
  cli.child.exitCode ?? ((await once(cli.child, 'exit')) as [number | null])[0];

describe.each(['node', 'fastify', 'uws'])('--backend %s', (backend) => {
  beforeEach((context) => skipUnlessServable(backend, context));
  const start = async (...args: string[]) => {
    const where = `127.0.0.1:${await freePort()}`;
    const cli = await startCli(['--backend', backend, '--bind', where, ...args, 'hostile-lifecycle.mjs']);
    return { cli, where };
  };

  test('--max-requests: answers that many, then exits 0 for the manager to start a fresh worker', async () => {
    const { cli, where } = await start('--max-requests', '3');
    const replies = [await get(where), await get(where), await get(where)];
    expect(replies.map((reply) => reply.status)).toEqual([200, 200, 200]);
    expect(await exited(cli)).toBe(0);
    expect(cli.output()).toContain('Served 3 requests (--max-requests): exiting for the process manager to start a fresh worker');
  });

  test('a rejection no code handles, outside a request: logged with its stack; the worker finishes what is in flight and exits 1', async () => {
    const { cli, where } = await start();
    const slow = get(where, '/slow');
    await get(where, '/reject-later');
    expect(await exited(cli)).toBe(1);
    expect((await slow).body).toBe('slow done\n');
    expect(cli.output()).toMatch(/Unhandled promise rejection outside a request[\s\S]*rejected outside a request \(fixture\)[\s\S]*\n\s+at /);
  });

  test('--on-unhandled-rejection continue: logged, and the worker serves on', async () => {
    const { cli, where } = await start('--on-unhandled-rejection', 'continue');
    await get(where, '/reject-later');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await get(where)).status).toBe(200);
    expect(cli.output()).toContain('Unhandled promise rejection outside a request (--on-unhandled-rejection continue: serving on)');
    expect(await cli.stop()).toBe(0);
  });

  test('an exception no code catches, outside a request: logged with its stack, exit 1', async () => {
    const { cli, where } = await start();
    await get(where, '/throw-later');
    expect(await exited(cli)).toBe(1);
    expect(cli.output()).toMatch(/Uncaught exception outside a request[\s\S]*thrown outside a request \(fixture\)[\s\S]*\n\s+at /);
  });
});
