import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { expectOneLineError, get, killAll, runCli, skipUnlessServable, startCli } from './helpers.js';

afterEach(killAll);

describe('serving real apps through the CLI', () => {
  test('the built-in hello app, with start-up lines like Chaussette, and a clean stop on SIGTERM', async () => {
    const cli = await startCli(['--port', '0']);
    expect(cli.output()).toContain('Application is the built-in hello app (fetch handler)');
    expect(cli.addresses[0]).toMatch(/^127\.0\.0\.1:\d+$/); // and [::1] on the same port, where there is IPv6 (localhost.test.ts)
    expect(cli.output()).toContain('Using the node backend');
    const reply = await get(cli.addresses[0]!);
    expect(reply).toMatchObject({ status: 200, body: 'Hello world!\n' });
    expect(await cli.stop()).toBe(0);
    expect(cli.output()).toContain('SIGTERM received');
    expect(cli.output()).toContain('Stopped');
  });

  test('an Express app: routing, express.json() bodies, and its own 500 for a failing route', async () => {
    const cli = await startCli(['express-app.cjs', '--port', '0']);
    expect(cli.output()).toContain('Application is an Express app (node request listener)');
    const where = cli.addresses[0]!;
    expect(await get(where)).toMatchObject({ status: 200, body: 'hello from express' });
    const json = await get(where, '/json', { method: 'POST', body: '{"a":[1,2]}', headers: { 'content-type': 'application/json' } });
    expect(JSON.parse(json.body)).toEqual({ received: { a: [1, 2] } });
    expect((await get(where, '/boom')).status).toBe(500);
    expect((await get(where)).status).toBe(200);
  });

  test('a Koa app, through callback()', async () => {
    const cli = await startCli(['koa-app.mjs', '--port', '0']);
    expect(cli.output()).toContain('Application is a Koa app');
    expect(JSON.parse((await get(cli.addresses[0]!, '/some/path')).body)).toEqual({ framework: 'koa', path: '/some/path' });
  });

  test('a Hono app: routing, params, query and JSON bodies', async () => {
    const cli = await startCli(['./hono-app.mjs', '--port', '0']);
    expect(cli.output()).toContain('Application is a Hono app (fetch handler)');
    const where = cli.addresses[0]!;
    expect(await get(where)).toMatchObject({ status: 200, body: 'hello from hono' });
    expect(JSON.parse((await get(where, '/users/7?q=x')).body)).toEqual({ id: '7', query: 'x' });
    const json = await get(where, '/json', { method: 'POST', body: '{"b":true}', headers: { 'content-type': 'application/json' } });
    expect(JSON.parse(json.body)).toEqual({ received: { b: true } });
    expect((await get(where, '/missing')).status).toBe(404);
  });

  test('a Fastify instance: ready() before serving, its plugins and JSON bodies, close() and onClose on stop', async () => {
    const cli = await startCli(['fastify-app.mjs', '--port', '0']);
    expect(cli.output()).toContain('Application is a Fastify instance');
    const where = cli.addresses[0]!;
    expect(JSON.parse((await get(where)).body)).toEqual({ framework: 'fastify' });
    const json = await get(where, '/json', { method: 'POST', body: '{"c":3}', headers: { 'content-type': 'application/json' } });
    expect(JSON.parse(json.body)).toEqual({ received: { c: 3 } });
    expect(await cli.stop()).toBe(0);
    expect(cli.output()).toContain('fastify onClose hook ran');
  });

  test.each([
    ['node-listener.cjs', 'function listener (node request listener)', '/x?y', 'node listener saw GET /x?y'],
    ['fetch-handler.mjs:api', 'an object with fetch() (fetch handler)', '/', '{"named":true,"method":"GET"}'],
    ['fetch-handler.mjs:nested.inner', 'an object with fetch() (fetch handler)', '/', 'nested export'],
    ['transpiled.cjs', 'function handler (node request listener)', '/', 'transpiled default export'],
    ['http-server.mjs', 'an http.Server (its request and upgrade listeners)', '/', 'from an http.Server'],
    ['zero-arity.mjs --interface node', 'as --interface node says', '/', 'variadic node listener'],
  ])('%s is recognised as %s', async (spec, description, path, body) => {
    const cli = await startCli([...spec.split(' '), '--port', '0']);
    expect(cli.output()).toContain(description);
    expect((await get(cli.addresses[0]!, path)).body).toBe(body);
  });

  test('a crashing app gets a 500 and the process lives on, for node listeners and fetch handlers', async () => {
    for (const spec of ['node-listener.cjs', 'fetch-handler.mjs']) {
      const cli = await startCli([spec, '--port', '0']);
      const where = cli.addresses[0]!;
      const reply = await get(where, '/boom');
      expect(reply.status).toBe(500);
      expect(reply.body).not.toContain('failed');
      expect(cli.output()).toMatch(/\[ERROR\] Error in the app while handling GET \/boom\n\s+Error: (listener|fetch handler) failed/);
      expect((await get(where)).status).toBe(200);
      expect(await cli.stop()).toBe(0);
    }
  });

  test('--factory calls the export with the extra arguments, and awaits an async factory', async () => {
    const cli = await startCli(['--factory', 'factory.mjs:createApp', 'bonjour', 'chaussette', '--port', '0']);
    expect((await get(cli.addresses[0]!)).body).toBe('bonjour, chaussette');
    const asyncCli = await startCli(['--factory', 'factory.mjs:createAsync', '--port', '0']);
    expect((await get(asyncCli.addresses[0]!)).body).toBe('made by an async factory');
  });
});

describe('a module that exports no app: what to export, and a listen() of its own named', () => {
  test.each([
    ['a CommonJS file that sets no module.exports', 'exports-nothing.cjs', 'exports-nothing.cjs:default is an empty object: the module exports no app. To serve it, export the app: module.exports = app (CommonJS) or export default app (ES module)'],
    [
      'an Express file that calls app.listen() (CommonJS)',
      'express-listens.cjs',
      'express-listens.cjs:default is an empty object: the module exports no app. To serve it, export the app: module.exports = app (CommonJS) or export default app (ES module). express-listens.cjs called listen() itself (on :0): chaussette binds the sockets, so remove that call',
    ],
    [
      'an Express file that calls app.listen() (ES module)',
      'express-listens.mjs',
      '"express-listens.mjs" has no default export (it exports nothing). express-listens.mjs called listen() itself (on 127.0.0.1:0): chaussette binds the sockets, so remove that call and export the app: module.exports = app (CommonJS) or export default app (ES module)',
    ],
  ])('%s', async (_name, app, message) => {
    const result = await runCli([app, '--port', '0'], { env: { PORT: '0' } });
    expectOneLineError(result, message);
    expect(result.stderr).toBe(`chaussette: error: ${message}\n`);
  });
});

describe("itty-router's documented `export default router`, whose Proxy answers `then`", () => {
  test.for(['node', 'uws'])('is served, not awaited as a promise (--backend %s)', async (backend, context) => {
    skipUnlessServable(backend, context);
    const cli = await startCli(['itty-router.mjs', '--backend', backend, '--port', '0']);
    expect(cli.output()).toContain('Application is an object with fetch() (fetch handler)');
    const where = cli.addresses[0]!;
    // AutoRouter's default format is JSON.
    expect(await get(where, '/hello/world')).toMatchObject({ status: 200, body: '"Hello, world!"' });
    const echo = await get(where, '/echo', { method: 'POST', body: '{"d":4}', headers: { 'content-type': 'application/json' } });
    expect(JSON.parse(echo.body)).toEqual({ received: { d: 4 } });
    expect(JSON.parse((await get(where, '/url/../url')).body)).toEqual({ url: `http://${where}/url` });
    expect((await get(where, '/missing')).status).toBe(404);
  });

  test('an export that is a promise nothing settles gets one line, not a silent exit 13', async () => {
    const result = await runCli(['itty-router.mjs:pending', '--port', '0']);
    expectOneLineError(result, /itty-router\.mjs:pending is a promise that never settled/);
  });

  test('so does a module whose top-level await nothing settles', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'chaussette-stuck-'));
    try {
      writeFileSync(join(directory, 'stuck.mjs'), 'await new Promise(() => {});\nexport default { fetch: () => new Response() };\n');
      const result = await runCli([join(directory, 'stuck.mjs'), '--port', '0']);
      expectOneLineError(result, /Importing \S+stuck\.mjs never finished: a top-level await in it \(or in a module it imports\) waits/);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe.each(['node', 'fastify', 'uws'])('server-sent events from Hono\'s streamSSE, --backend %s', (backend) => {
  beforeEach((context) => skipUnlessServable(backend, context));
  test('the client sees the response begin before the first event', async () => {
    const cli = await startCli(['--backend', backend, '--host', '127.0.0.1', '--port', '0', 'hono-sse.mjs']);
    const [host, port] = cli.addresses[0]!.split(':');
    let released: Promise<unknown> | undefined;
    const events = await new Promise<string>((resolve, reject) => {
      request({ host, port, path: '/events' }, (res) => {
        // The first event waits for this request: a server that holds the headers until then never sends it.
        expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
        released = get(cli.addresses[0]!, '/release');
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve(text));
      })
        .on('error', reject)
        .end();
    });
    expect(events.replace(/^:.*\n/gm, '')).toBe('event: hello\ndata: first\n\n');
    expect(await released).toMatchObject({ body: 'released' });
  }, 15_000);
});
