import { describe, expect, test } from 'vitest';
import { toApp } from './detect-app.js';
import { isWebSocketHandshake, websocketSettings } from './websocket.js';

describe('websocketSettings', () => {
  test("Bun's defaults, and the app's values", () => {
    expect(websocketSettings({ message() {} })).toEqual({
      maxPayloadLength: 16 * 1024 * 1024,
      idleTimeout: 120,
      backpressureLimit: 16 * 1024 * 1024,
      closeOnBackpressureLimit: false,
      sendPings: true,
      perMessageDeflate: false,
      publishToSelf: false,
    });
    expect(websocketSettings({ maxPayloadLength: 1024, idleTimeout: 0, sendPings: false })).toMatchObject({ maxPayloadLength: 1024, idleTimeout: 0, sendPings: false });
  });

  test('refuses what no backend can do, saying what is allowed', () => {
    expect(() => websocketSettings({ idleTimeout: 3 }, 'app.mjs')).toThrow('app.mjs: websocket.idleTimeout must be 0 (never) or from 8 to 900 seconds (got 3)');
    expect(() => websocketSettings({ maxPayloadLength: 0 })).toThrow('websocket.maxPayloadLength must be a whole number from 1 to 1073741824 (got 0)');
    expect(() => websocketSettings({ backpressureLimit: 1.5 })).toThrow('websocket.backpressureLimit must be a whole number');
    expect(() => websocketSettings({ message: 'echo' } as never)).toThrow('websocket.message must be a function');
  });
});

test('an object with fetch and websocket handlers is a fetch app with them; a bad websocket member is refused', () => {
  const websocket = { message() {} };
  const app = toApp({ fetch: () => new Response(''), websocket }, 'app.mjs');
  expect(app).toMatchObject({ kind: 'fetch', websocket, description: 'an object with fetch() (fetch handler, with WebSocket handlers)' });
  expect(() => toApp({ fetch: () => new Response(''), websocket: {} }, 'app.mjs')).toThrow('app.mjs: its websocket member is an empty object');
});

test('isWebSocketHandshake: GET, Upgrade: websocket, a 16-byte key, version 13', () => {
  const headers: Record<string, string> = { upgrade: 'WebSocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' };
  const header = (name: string) => headers[name];
  expect(isWebSocketHandshake('GET', header)).toBe(true);
  expect(isWebSocketHandshake('POST', header)).toBe(false);
  headers['sec-websocket-key'] = 'short';
  expect(isWebSocketHandshake('GET', header)).toBe(false);
});

test('core refuses WebSocket handlers for a backend that does not list supports.websocket, before serve()', async () => {
  const { startServer } = await import('./serve.js');
  const backend = {
    name: 'plain',
    appKinds: ['fetch'] as const,
    serve: () => Promise.reject(new Error('serve() must not be reached')),
  };
  const app = toApp({ fetch: () => new Response(''), websocket: { message() {} } }, 'app.mjs');
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const targets = [{ type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 }] as const;
  const others = [
    { ...backend, name: 'sockets', supports: { websocket: true } },
    { ...backend, name: 'more-sockets', supports: { websocket: true } },
    { ...backend, name: 'http-only', supports: { reusePort: true } },
  ];
  await expect(startServer({ app, backend, targets, logger: quiet, otherBackends: async () => others })).rejects.toThrow(
    "The plain backend cannot serve WebSocket handlers (the app's websocket member). Use --backend sockets or more-sockets",
  );
  await expect(startServer({ app, backend, targets, logger: quiet })).rejects.toThrow(
    "The plain backend cannot serve WebSocket handlers (the app's websocket member). No other installed backend can: install one that does",
  );
});
