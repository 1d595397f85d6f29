import { afterEach, describe, expect, test } from 'vitest';
import { get, killAll, startCli } from './helpers.js';

afterEach(killAll);

const backends = ['node', 'fastify', 'uws'];

describe('Fastify plugins and listeners, told apart on every backend', () => {
  test.each(['node', 'uws'])('a Fastify plugin on the %s backend is served through a Fastify instance, not taken for a listener', async (backend) => {
    const cli = await startCli(['fastify-plugin.mjs', '--backend', backend, '--port', '0']);
    expect(cli.output()).toContain("Application is a Fastify plugin routes (through a Fastify instance's request listener; --backend fastify serves it natively)");
    const reply = await get(cli.addresses[0]!, '/orders', { method: 'POST', body: '{"item":"socks"}', headers: { 'content-type': 'application/json' } });
    expect(reply.status).toBe(201);
    expect(JSON.parse(reply.body)).toEqual({ order: { item: 'socks' }, by: cli.child.pid });
    expect(await cli.stop()).toBe(0);
  });

  test.each(backends)('function app(req, res) on the %s backend is a listener, not a Fastify plugin', async (backend) => {
    const cli = await startCli(['listener-named-app.mjs', '--backend', backend, '--port', '0']);
    expect(cli.output()).toContain('Application is function app (node request listener)');
    expect((await get(cli.addresses[0]!)).body).toBe('a listener named app');
    expect(await cli.stop()).toBe(0);
  });
});

describe('NODE_ENV', () => {
  // vitest sets NODE_ENV=test for itself: the servers here start without it, as from a shell.
  const withoutNodeEnv = { ...process.env, NODE_ENV: undefined };

  test('unset: production, said at start-up', async () => {
    const cli = await startCli(['node-env.mjs', '--port', '0'], { env: withoutNodeEnv });
    expect((await get(cli.addresses[0]!)).body).toBe('production');
    expect(cli.output()).toContain('NODE_ENV was not set: it is production; set it to choose another');
    expect(await cli.stop()).toBe(0);
  });

  test('unset, with --use-reloader: development', async () => {
    const cli = await startCli(['node-env.mjs', '--port', '0', '--use-reloader'], { env: withoutNodeEnv });
    expect(cli.output()).toContain('NODE_ENV was not set: it is development (--use-reloader)');
    // The reloader's child serves the socket its parent holds: `fd://3 (127.0.0.1:PORT)`.
    const where = /\((.+)\)$/.exec(cli.addresses[0]!)![1]!;
    expect((await get(where)).body).toBe('development');
    expect(await cli.stop()).toBe(0);
  });

  test('set: kept, and nothing said', async () => {
    const cli = await startCli(['node-env.mjs', '--port', '0'], { env: { ...process.env, NODE_ENV: 'staging' } });
    expect((await get(cli.addresses[0]!)).body).toBe('staging');
    expect(cli.output()).not.toContain('NODE_ENV');
    expect(await cli.stop()).toBe(0);
  });
});
