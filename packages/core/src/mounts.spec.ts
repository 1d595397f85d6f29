import { describe, expect, test } from 'vitest';
import type { App, FetchApp, NodeListener } from './backend.js';
import { composeMounts, parseMount } from './mounts.js';
import type { FetchServer } from './websocket.js';

// These apps never upgrade: no backend's server is needed.
const server = {} as FetchServer;

const fetchApp = (name: string): FetchApp => ({
  kind: 'fetch',
  description: name,
  source: undefined,
  fetch: (request) => {
    const url = new URL(request.url);
    return Response.json({ name, path: url.pathname + url.search, baseUrl: (request as Request & { baseUrl?: string }).baseUrl ?? null });
  },
});

describe('parseMount', () => {
  test.each([
    ['/api=./api.mjs', { prefix: '/api', spec: './api.mjs' }],
    ['/api/=./api.mjs:app', { prefix: '/api', spec: './api.mjs:app' }],
    ['/=app.mjs', { prefix: '/', spec: 'app.mjs' }],
    ['/a=b=c.mjs', { prefix: '/a', spec: 'b=c.mjs' }],
  ])('%s', (text, expected) => expect(parseMount(text)).toEqual(expected));

  test.each(['api=x.mjs', '/api', '/api=', '/a//b=x.mjs', '/a?b=x.mjs', '=x.mjs'])('refuses %s', (text) => {
    expect(() => parseMount(text)).toThrow(/^Invalid --mount/);
  });
});

describe('composeMounts', () => {
  test('fetch apps only: one fetch app, longest prefix first, on segment boundaries', async () => {
    const app = composeMounts([{ prefix: '/', app: fetchApp('root') }, { prefix: '/a', app: fetchApp('a') }, { prefix: '/a/b', app: fetchApp('ab') }], () => {
      throw new Error('no node listener is needed');
    });
    expect(app.kind).toBe('fetch');
    const ask = async (path: string) => (await (app as FetchApp).fetch(new Request(`http://x${path}`), server))!.json();
    expect(await ask('/a/b/c?d=1')).toEqual({ name: 'ab', path: '/c?d=1', baseUrl: '/a/b' });
    expect(await ask('/a/bc')).toEqual({ name: 'a', path: '/bc', baseUrl: '/a' });
    expect(await ask('/a')).toEqual({ name: 'a', path: '/', baseUrl: '/a' });
    expect(await ask('/ab')).toEqual({ name: 'root', path: '/ab', baseUrl: null });
  });

  test('no prefix matches: 404', async () => {
    const app = composeMounts([{ prefix: '/a', app: fetchApp('a') }], () => () => {}) as FetchApp;
    expect((await app.fetch(new Request('http://x/b'), server))!.status).toBe(404);
  });

  test('a node app among them: one node app, fetch apps through the adapter, ready and close for each', async () => {
    const calls: string[] = [];
    const node: App = { kind: 'node', description: 'n', source: undefined, listener: () => {}, ready: async () => void calls.push('ready n'), close: async () => void calls.push('close n') };
    const adapted: NodeListener = () => {};
    const app = composeMounts([{ prefix: '/n', app: node }, { prefix: '/f', app: { ...fetchApp('f'), close: async () => void calls.push('close f') } }], () => adapted);
    expect(app.kind).toBe('node');
    expect(app.description).toBe('2 apps by path prefix: /f → f, /n → n');
    await app.ready?.();
    await app.close?.();
    expect(calls.sort()).toEqual(['close f', 'close n', 'ready n']);
  });

  test('two apps at one prefix: an error', () => {
    expect(() => composeMounts([{ prefix: '/a', app: fetchApp('1') }, { prefix: '/a', app: fetchApp('2') }], () => () => {})).toThrow('Two apps are mounted at /a');
  });

  test('WebSocket handlers: kept from the one fetch app that has them, refused from two or beside a node app', () => {
    const chat: FetchApp = { ...fetchApp('chat'), websocket: { message: () => {} } };
    const composed = composeMounts([{ prefix: '/chat', app: chat }, { prefix: '/', app: fetchApp('site') }], () => () => {}) as FetchApp;
    expect(composed.websocket).toBe(chat.websocket);
    expect(() => composeMounts([{ prefix: '/a', app: chat }, { prefix: '/b', app: { ...chat } }], () => () => {})).toThrow(
      'WebSocket handlers come from one mounted app only, and /a and /b both have them',
    );
    const node: App = { kind: 'node', description: 'n', source: undefined, listener: () => {} };
    expect(() => composeMounts([{ prefix: '/chat', app: chat }, { prefix: '/', app: node }], () => () => {})).toThrow('not beside node apps');
    const upgrading: App = { ...node, upgrade: () => {} };
    expect(() => composeMounts([{ prefix: '/io', app: upgrading }, { prefix: '/', app: fetchApp('site') }], () => () => {})).toThrow(
      'The app at /io handles upgrade requests itself (ws, socket.io), which a mounted app cannot: serve it on its own',
    );
  });
});
