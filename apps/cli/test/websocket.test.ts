import { once } from 'node:events';
import { io } from 'socket.io-client';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { get, killAll, runCli, skipUnlessServable, startCli } from './helpers.js';

afterEach(killAll);

/** A connected client, and the messages it received so far (text as strings). */
async function connect(url: string): Promise<{ client: WebSocket; received: (string | Buffer)[]; next(): Promise<string | Buffer> }> {
  const client = new WebSocket(url);
  const received: (string | Buffer)[] = [];
  const waiting: ((message: string | Buffer) => void)[] = [];
  client.on('message', (data: Buffer, isBinary: boolean) => {
    const message = isBinary ? data : data.toString();
    const resolve = waiting.shift();
    if (resolve) resolve(message);
    else received.push(message);
  });
  await once(client, 'open');
  return {
    client,
    received,
    next: () => (received.length > 0 ? Promise.resolve(received.shift()!) : new Promise((resolve) => waiting.push(resolve))),
  };
}

const start = (backend: string, app: string, ...extra: string[]) => startCli(['--backend', backend, '--host', '127.0.0.1', '--port', '0', ...extra, app]);

describe.each(['node', 'fastify', 'uws'])('a Hono app with hono/bun WebSockets, %s backend', (backend) => {
  beforeEach((context) => skipUnlessServable(backend, context));
  test('upgrades, echoes text and binary, logs the 101, and plain HTTP goes on', async () => {
    const cli = await start(backend, 'hono-websocket.mjs', '--access-log', '-');
    const where = cli.addresses[0]!;
    expect(cli.output()).toContain('Application is an object with fetch() (fetch handler, with WebSocket handlers)');
    const { client, next } = await connect(`ws://${where}/ws?name=ada`);
    expect(await next()).toBe('hello ada');
    client.send('hi');
    expect(await next()).toBe('echo hi');
    client.send(Buffer.from([1, 2, 3]));
    expect(await next()).toEqual(Buffer.from([3, 2, 1]));
    expect((await get(where, '/')).body).toBe('plain HTTP\n');
    client.close(1000);
    await once(client, 'close');
    await expect.poll(() => cli.output()).toContain('closed ada 1000');
    expect(cli.output()).toMatch(/"GET \/ws\?name=ada HTTP\/1\.1" 101 /);
    expect(await cli.stop()).toBe(0);
  });

  test('SIGTERM sends open WebSockets 1001 and exits once they close', async () => {
    const cli = await start(backend, 'hono-websocket.mjs', '--graceful-timeout', '20');
    const { client, next } = await connect(`ws://${cli.addresses[0]}/ws?name=bo`);
    await next();
    const closed = once(client, 'close') as Promise<[number, Buffer]>;
    const started = Date.now();
    expect(await cli.stop()).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    const [code, reason] = await closed;
    expect(code).toBe(1001);
    expect(reason.toString()).toBe('Server shutting down');
  });

  test('mounted beside another app: the WebSocket app at its prefix', async () => {
    const cli = await start(backend, 'hono-app.mjs', '--mount', '/chat=hono-websocket.mjs');
    const { client, next } = await connect(`ws://${cli.addresses[0]}/chat/ws?name=mounted`);
    expect(await next()).toBe('hello mounted');
    client.send('there');
    expect(await next()).toBe('echo there');
    expect(await cli.stop()).toBe(0);
  });
});

describe.each(['node', 'fastify'])('node apps that handle their own upgrades, %s backend', (backend) => {
  test('an http.Server with a ws WebSocketServer', async () => {
    const cli = await start(backend, 'ws-http-server.cjs');
    const where = cli.addresses[0]!;
    expect(cli.output()).toContain('Application is an http.Server (its request and upgrade listeners)');
    const { client, next } = await connect(`ws://${where}/room`);
    expect(await next()).toBe('hello /room');
    client.send('hi');
    expect(await next()).toBe('echo hi');
    expect((await get(where, '/')).body).toBe('plain HTTP\n');
    expect(await cli.stop()).toBe(0);
  });

  test('socket.io, over WebSocket and over long-polling', async () => {
    // A long-poll the client abandons stays an in-flight request: shutdown waits for it, up to this timeout.
    const cli = await start(backend, 'socketio-server.cjs', '--graceful-timeout', '1');
    for (const transports of [['websocket'], ['polling']]) {
      const socket = io(`http://${cli.addresses[0]}`, { transports, reconnection: false });
      try {
        await new Promise((resolve, reject) => socket.on('connect', () => resolve(undefined)).on('connect_error', reject));
        expect(socket.io.engine.transport.name).toBe(transports[0]);
        expect(await socket.emitWithAck('shout', 'hello')).toBe('HELLO');
      } finally {
        socket.close();
      }
    }
    expect(await cli.stop()).toBe(0);
  });
});

test.each(['node', 'fastify'])('a Fastify instance with @fastify/websocket, %s backend', async (backend) => {
  const cli = await start(backend, 'fastify-websocket-instance.mjs');
  const { client, next } = await connect(`ws://${cli.addresses[0]}/ws`);
  client.send('hi');
  expect(await next()).toBe('echo hi');
  // The app's own WebSocket is cut when shutdown begins, not waited for until --graceful-timeout (30 s).
  const started = Date.now();
  expect(await cli.stop()).toBe(0);
  expect(Date.now() - started).toBeLessThan(5000);
});

test('a Fastify plugin with @fastify/websocket, on the fastify backend', async () => {
  const cli = await start('fastify', 'fastify-websocket.mjs');
  const { client, next } = await connect(`ws://${cli.addresses[0]}/ws`);
  expect(await next()).toBe('hello /ws');
  client.send('hi');
  expect(await next()).toBe('echo hi');
  expect(await cli.stop()).toBe(0);
});

test("the uws backend refuses a node app's own upgrade handling in one line", async () => {
  const result = await runCli(['--backend', 'uws', '--port', '0', 'ws-http-server.cjs']);
  expect(result.code).toBe(1);
  expect(result.stderr.trim().split('\n')).toEqual([
    "chaussette: error: The uws backend cannot hand a node app's upgrade requests to its own 'upgrade' listeners (ws, socket.io): use --backend node, or give a fetch app WebSocket handlers",
  ]);
});

test('an app whose websocket member is no handler object is refused in one line', async () => {
  const result = await runCli(['--port', '0', '--interface', 'fetch', 'bad-websocket.mjs']);
  expect(result.code).toBe(1);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toContain('its websocket member is a string ("yes"); give it handlers, as Bun.serve() takes them');
});
