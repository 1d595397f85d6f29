import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { FIXTURES, get, killAll, runCli, skipUnlessServable, startCli } from './helpers.js';

afterEach(killAll);

const json = async (where: string, path: string, init?: Parameters<typeof get>[2]) => {
  const reply = await get(where, path, init);
  return { status: reply.status, body: JSON.parse(reply.body) as Record<string, unknown> };
};

describe.each(['node', 'fastify', 'uws'])('--mount, %s backend', (backend) => {
  beforeEach((context) => skipUnlessServable(backend, context));
  test('node and fetch apps side by side: longest prefix on segment boundaries, paths without the prefix, the prefix beside', async () => {
    const cli = await startCli([
      '--backend', backend, '--host', '127.0.0.1', '--port', '0',
      '--mount', '/api=mount-probe.mjs:fetch',
      '--mount', '/api/admin/=mount-probe.mjs:node', // a trailing slash is dropped
      'mount-probe.mjs:node', // the application: mounted at /
    ]);
    const where = cli.addresses[0]!;
    expect(cli.output()).toContain('Application is 3 apps by path prefix: / → ');
    expect(await json(where, '/api/items?x=1')).toEqual({ status: 200, body: { kind: 'fetch', url: '/items?x=1', baseUrl: '/api', body: null } });
    expect((await json(where, '/api')).body).toMatchObject({ kind: 'fetch', url: '/' });
    expect((await json(where, '/api?x=2')).body).toMatchObject({ kind: 'fetch', url: '/?x=2' });
    expect((await json(where, '/api/admin/users')).body).toEqual({ kind: 'node', url: '/users', baseUrl: '/api/admin', originalUrl: '/api/admin/users' });
    expect((await json(where, '/apix')).body).toEqual({ kind: 'node', url: '/apix', baseUrl: null, originalUrl: null });
    expect((await json(where, '/api/echo', { method: 'POST', body: 'posted' })).body).toMatchObject({ kind: 'fetch', url: '/echo', body: 'posted' });
    // Dot segments are resolved before routing, as URL does for fetch apps: the app they lead to answers.
    expect((await json(where, '/api/admin/../items')).body).toMatchObject({ kind: 'fetch', url: '/items', baseUrl: '/api' });
    // (The app at / gets the target as node apps always do: as the client sent it.)
    expect((await json(where, '/api/%2e%2e/apix')).body).toEqual({ kind: 'node', url: '/api/%2e%2e/apix', baseUrl: null, originalUrl: null });
    expect(await cli.stop()).toBe(0);
  });

  test('a real Express app and a real Hono app under prefixes; no match and no app at / is a 404', async () => {
    const cli = await startCli(['--backend', backend, '--host', '127.0.0.1', '--port', '0', '--mount', '/shop=express-routes.cjs', '--mount', '/hono=hono-app.mjs']);
    const where = cli.addresses[0]!;
    expect(await json(where, '/shop/api/users/7?q=a')).toMatchObject({ status: 200, body: { id: '7', q: 'a' } });
    const created = await json(where, '/shop/api/users', { method: 'POST', body: '{"name":"sock"}', headers: { 'content-type': 'application/json' } });
    expect(created).toEqual({ status: 201, body: { created: { name: 'sock' } } });
    expect((await get(where, '/shop')).body).toBe('hello from express');
    expect(await json(where, '/hono/users/3?q=z')).toEqual({ status: 200, body: { id: '3', query: 'z' } });
    expect((await json(where, '/hono/json', { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } })).body).toEqual({ received: { a: 1 } });
    expect((await get(where, '/shopping')).status).toBe(404);
    expect((await get(where, '/')).status).toBe(404);
    expect(await cli.stop()).toBe(0);
  });
});

describe('--mount errors, one line each', () => {
  test.each([
    [['--mount', 'api=mount-probe.mjs:node'], 'Invalid --mount "api=mount-probe.mjs:node": the prefix must be a path such as /api'],
    [['--mount', '/api'], 'Invalid --mount "/api": expected PREFIX=APP'],
    [['--mount', '/a=mount-probe.mjs:node', '--mount', '/a/=mount-probe.mjs:fetch'], 'Two apps are mounted at /a: give each prefix one app'],
    [['--mount', '/=mount-probe.mjs:node', 'mount-probe.mjs:fetch'], 'Two apps are mounted at / (the application argument is mounted at /)'],
    [['--mount', '/a/../b=mount-probe.mjs:node'], 'no . or .. segments'],
  ])('%j', async (args, message) => {
    const result = await runCli([...args, '--port', '0']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringContaining(message)]);
  });
});

test('a config file mounts apps with `mounts`', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'chaussette-mounts-'));
  try {
    const config = join(directory, 'chaussette.json');
    writeFileSync(config, JSON.stringify({ mounts: { '/f': join(FIXTURES, 'mount-probe.mjs:fetch'), '/n': join(FIXTURES, 'mount-probe.mjs:node') }, port: 0, host: '127.0.0.1' }));
    const cli = await startCli(['--config', config]);
    expect((await json(cli.addresses[0]!, '/f/x')).body).toMatchObject({ kind: 'fetch', url: '/x', baseUrl: '/f' });
    expect((await json(cli.addresses[0]!, '/n/y')).body).toMatchObject({ kind: 'node', url: '/y', baseUrl: '/n' });
    expect(await cli.stop()).toBe(0);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
