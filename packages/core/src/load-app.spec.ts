import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { isPromiseOfApp, toApp } from './detect-app.js';
import { loadApp } from './load-app.js';
import type { FetchServer } from './websocket.js';
import { parseExportSpecifier } from './load-module.js';
import { resolveBackend } from './resolve-backend.js';

const cwd = fileURLToPath(new URL('./__fixtures__/', import.meta.url));

describe('parseExportSpecifier', () => {
  test.each([
    ['./app.js', { module: './app.js', exportPath: ['default'] }],
    ['./app.js:api', { module: './app.js', exportPath: ['api'] }],
    ['app:handlers.main', { module: 'app', exportPath: ['handlers', 'main'] }],
    ['@scope/pkg/sub:app', { module: '@scope/pkg/sub', exportPath: ['app'] }],
    ['/srv/app.mjs', { module: '/srv/app.mjs', exportPath: ['default'] }],
    ['./weird:1name', { module: './weird:1name', exportPath: ['default'] }],
  ])('%s', (specifier, expected) => {
    expect(parseExportSpecifier(specifier)).toEqual(expected);
  });
});

describe('loadApp', () => {
  test.each([
    ['apps.mjs', 'node', 'function listener (node request listener)'],
    ['./apps.mjs:handler', 'fetch', 'function handler (fetch handler)'],
    ['apps.mjs:withFetch', 'fetch', 'an object with fetch() (fetch handler)'],
    ['apps.mjs:promised', 'fetch', 'an object with fetch() (fetch handler)'],
    ['apps', 'node', 'function listener (node request listener)'],
    ['commonjs.cjs', 'node', 'function app (node request listener)'],
    ['commonjs.cjs:extra', 'fetch', 'an object with fetch() (fetch handler)'],
    ['./app-dir', 'fetch', 'an object with fetch() (fetch handler)'],
  ])('%s is a %s app', async (specifier, kind, description) => {
    const app = await loadApp(specifier, { cwd });
    expect(app.kind).toBe(kind);
    expect(app.description).toBe(description);
  });

  test('--factory: the export is called with the arguments', async () => {
    const app = await loadApp('apps.mjs:factory', { cwd, factory: true, args: ['x', 'y'] });
    expect(app.kind).toBe('fetch');
    expect(await (app.kind === 'fetch' && (await app.fetch(new Request('http://h/'), {} as FetchServer))!.text())).toBe('x+y');
  });

  test('a backend may claim an export before core detects it', async () => {
    const claimed = { kind: 'node' as const, listener: () => {}, description: 'claimed', source: null };
    const app = await loadApp('apps.mjs', { cwd, backend: { recognize: () => claimed } });
    expect(app).toBe(claimed);
  });

  test.each([
    ['apps.mjs:nothing', 'apps.mjs:nothing is null, not an app'],
    ['apps.mjs:missing', '"apps.mjs:missing" has no export "missing" (its exports: Application, default, factory, handler, listener, nothing, promised, withFetch)'],
    ['apps.mjs:Application', 'apps.mjs:Application is the class Application, not an app: export an instance (new Application())'],
    ['apps.mjs:withFetch.nope', '"apps.mjs:withFetch.nope" has no export "withFetch.nope" (its exports: fetch)'],
    ['./nowhere.mjs', 'Cannot find application "./nowhere.mjs"'],
  ])('%s fails with a clear message', async (specifier, message) => {
    await expect(loadApp(specifier, { cwd })).rejects.toThrow(message);
  });
});

// As itty-router 5's Router is made: an object with fetch() over a Proxy that makes up a function for
// every other member name, `then` included (a route registrar that never calls back).
const CATCH_ALL_ROUTER = `
export const registered = [];
const answerEveryName = new Proxy({}, { get: (_target, name, receiver) => (...args) => (registered.push(String(name)), receiver) });
export default { __proto__: answerEveryName, async fetch(request) { return new Response('routed ' + new URL(request.url).pathname); } };
export const withoutFetch = { __proto__: answerEveryName, fetch: undefined };
`;

describe('an export that answers `then` as it answers every member name', () => {
  const directory = mkdtempSync(join(tmpdir(), 'chaussette-load-app-'));
  writeFileSync(join(directory, 'router.mjs'), CATCH_ALL_ROUTER);
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  test('is served by its fetch(), never awaited nor taken for a NestJS application', async () => {
    const app = await loadApp('router.mjs', { cwd: directory });
    expect(app).toMatchObject({ kind: 'fetch', description: 'an object with fetch() (fetch handler)' });
    expect(app.kind === 'fetch' && app.websocket).toBe(undefined);
    expect(await (app.kind === 'fetch' && (await app.fetch(new Request('http://h/x'), {} as FetchServer))!.text())).toBe('routed /x');
    const { registered } = (await import(join(directory, 'router.mjs'))) as { registered: string[] };
    expect(registered).toEqual([]);
  });

  test('without fetch() it is no app, whatever else it answers', async () => {
    await expect(loadApp('router.mjs:withoutFetch', { cwd: directory })).rejects.toThrow(
      'router.mjs:withoutFetch is an object with keys fetch, not an app (it answers every member name with a function, and has no fetch())',
    );
  });
});

test.each([
  ['a promise', Promise.resolve({ fetch() {} }), true],
  ['a thenable with nothing else', { then() {} }, true],
  ['a thenable with fetch()', { then() {}, fetch() {} }, false],
  ['a function with then()', Object.assign((request: Request) => request, { then() {} }), false],
  ['an http.Server with then()', Object.assign(createServer(), { then() {} }), false],
  ['an object without then()', { fetch() {} }, false],
  ['null', null, false],
])('isPromiseOfApp(%s) is %s', (_name, value, awaited) => {
  expect(isPromiseOfApp(value)).toBe(awaited);
});

describe('toApp', () => {
  test('recognises a Koa-shaped app through callback()', () => {
    const listener = () => {};
    const koa = { callback: () => listener, use() {}, middleware: [] };
    expect(toApp(koa, 'koa')).toMatchObject({ kind: 'node', listener, description: 'a Koa app (node request listener from callback())' });
  });

  test('an http.Server that already listens is refused', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      expect(() => toApp(server, 'x')).toThrow('it is an http.Server that already listens; export it without calling listen()');
    } finally {
      server.close();
    }
  });

  test.each([
    ['a string', 'hello', 'x is a string ("hello"), not an app'],
    ['an object', { port: 1, host: 'h' }, 'x is an object with keys port, host, not an app'],
    ['a class instance', new Date(0), 'x is a Date instance, not an app'],
  ])('%s is not an app, and the message lists what is accepted', (_name, value, message) => {
    expect(() => toApp(value, 'x')).toThrow(message);
    expect(() => toApp(value, 'x')).toThrow('Accepted: a node (req, res) listener (Express, Connect), a fetch (request) => Response handler');
  });

  test('a bare function the chosen backend does not claim is offered to the other backends, as not theirs to serve', async () => {
    const seen: [unknown, boolean][] = [];
    const claimed = { kind: 'node' as const, listener: () => {}, description: 'through another', source: null };
    const other = { recognize: (value: unknown, native: boolean) => (seen.push([value, native]), claimed) };
    const chosen = { recognize: (_value: unknown, native: boolean) => (seen.push(['chosen', native]), undefined) };
    expect(await loadApp('apps.mjs:listener', { cwd, backend: chosen, otherBackends: async () => [other] })).toBe(claimed);
    expect(seen.map(([value, native]) => [typeof value, native])).toEqual([['string', true], ['function', false]]);
    // A framework's shape (an object with fetch()) is core's to tell: the others are not asked.
    seen.length = 0;
    expect((await loadApp('apps.mjs:withFetch', { cwd, backend: chosen, otherBackends: async () => [other] })).kind).toBe('fetch');
    expect(seen).toEqual([['chosen', true]]);
  });

  test('--interface overrides detection by parameter count', () => {
    const variadic = (...args: unknown[]) => args;
    expect(() => toApp(variadic, 'x')).toThrow('Say it with --interface node for (req, res) or --interface fetch');
    expect(toApp(variadic, 'x', 'node').kind).toBe('node');
    expect(toApp(variadic, 'x', 'fetch').kind).toBe('fetch');
  });
});

describe('resolveBackend', () => {
  test('a path to a module that is not a backend', async () => {
    await expect(resolveBackend(`${cwd}not-a-backend.mjs`, { searchFrom: [cwd] })).rejects.toThrow(
      'is not a chaussette backend: its default export is an object with keys name, expected an object with name, appKinds and serve()',
    );
  });

  test('a missing backend names the install command: the offered one its package, an unknown one both', async () => {
    const search = { searchFrom: [cwd], installCommand: 'pnpm add', offered: ['node', 'fastify'] };
    await expect(resolveBackend('fastify', search)).rejects.toThrow('Backend "fastify" is not installed: run `pnpm add @chaussette/backend-fastify`');
    await expect(resolveBackend('mine', search)).rejects.toThrow(
      "Unknown backend \"mine\": neither @chaussette/backend-mine nor chaussette-backend-mine is installed (installed backends: none; chaussette's own: node, fastify). To use a third-party one, run `pnpm add chaussette-backend-mine`",
    );
  });
});

test('an http.Server whose listen() was called as the module loaded (its host looked up first) is refused before serving', async () => {
  const server = createServer();
  server.listen(0, 'localhost'); // listening only once the lookup is done: after toApp()
  try {
    const app = toApp(server, 'server.js:server');
    await expect(app.ready!()).rejects.toThrow('server.js:server is a Server instance, not an app (it is an http.Server that already listens; export it without calling listen())');
  } finally {
    server.close();
  }
});
