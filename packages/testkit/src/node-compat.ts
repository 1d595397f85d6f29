// The conformance kit's node:http compatibility cases: what real middleware relies on in node:http's
// (req, res), beyond the plain request and response. on-headers (compression, express-session, morgan)
// patches res.writeHead on the instance and expects every head, implicit or flushed, to go through it;
// static file servers (sirv, @fastify/static) declare a Content-Length and pipe the file, HEAD included;
// and the WebSocket chat example publishes from websocket.close. Each case asserts node:http's behaviour
// (or Bun.serve()'s, for WebSockets) and the RFC, not one engine's.
import { once } from 'node:events';
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type WebSocketClient from 'ws';
import { type Backend, type BoundAddress, type FetchApp, type NodeApp, type RunningServer, type ServerWebSocket, startServer } from '@chaussette/core';
import { HELLO } from './apps.js';
import { getServed, servedBaseline } from './baseline.js';
import { currentTls, openSocket, request } from './client.js';
import { kitTest } from './known-failures.js';

const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };
const loopback = { type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 } as const;

/**
 * npm's on-headers (used by compression, express-session, morgan, response-time), as it works: it
 * replaces res.writeHead on the instance with one that applies the status and headers given, runs the
 * listener once (which may still set headers and the status), then calls the writeHead it replaced.
 * The kit does not depend on it; this is its algorithm.
 */
function onHeaders(res: ServerResponse, listener: (this: ServerResponse) => void): void {
  const previous = res.writeHead as (this: ServerResponse, ...args: unknown[]) => ServerResponse;
  let fired = false;
  res.writeHead = function writeHead(this: ServerResponse, statusCode: number, ...rest: unknown[]) {
    const headerIndex = typeof rest[0] === 'string' ? 1 : 0;
    const headers = rest[headerIndex] as OutgoingHttpHeaders | [string, string][] | undefined;
    this.statusCode = statusCode;
    if (Array.isArray(headers)) for (const [name, value] of headers) this.setHeader(name, value);
    else if (headers) for (const name of Object.keys(headers)) if (headers[name] !== undefined) this.setHeader(name, headers[name]);
    let args: unknown[] = [statusCode, ...rest.slice(0, headerIndex)];
    if (!fired) {
      fired = true;
      listener.call(this);
      if (this.statusCode !== args[0]) args = [this.statusCode];
    }
    return previous.apply(this, args);
  } as ServerResponse['writeHead'];
}

/** What express-session and compression do in their on-headers listener: headers decided at the last moment. */
function sessionLikeHook(res: ServerResponse): void {
  onHeaders(res, function () {
    this.setHeader('set-cookie', 'sid=s%3Aabc; Path=/; HttpOnly');
    this.setHeader('x-on-headers', String(Number(this.getHeader('x-on-headers') ?? 0) + 1));
  });
}

const FILE_SIZE = 100 * 1024 + 7;

function nodeCompatApp(file: string): NodeApp {
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const route = new URL(req.url ?? '/', 'http://kit').pathname;
    switch (route) {
      case '/flush-headers':
        // Server-sent events behind express-session, or compression's res.flush(): the head goes first.
        sessionLikeHook(res);
        res.setHeader('content-type', 'text/plain');
        res.flushHeaders();
        setTimeout(() => res.end(JSON.stringify({ headersSent: res.headersSent })), 20);
        return;
      case '/implicit-end':
        sessionLikeHook(res);
        res.setHeader('content-type', 'text/plain');
        res.end('ended\n');
        return;
      case '/implicit-write':
        sessionLikeHook(res);
        res.setHeader('content-type', 'text/plain');
        res.write('written, ');
        setTimeout(() => res.end('then ended\n'), 20);
        return;
      case '/static/file.txt': {
        // sirv: the length in writeHead, the file piped, HEAD included (node:http drops the body).
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': FILE_SIZE, 'Last-Modified': statSync(file).mtime.toUTCString() });
        createReadStream(file).pipe(res);
        return;
      }
      case '/static/written.txt': {
        // The length set beforehand, the head implicit with the first write, the body in chunks.
        const body = Buffer.alloc(FILE_SIZE, 'w');
        res.setHeader('Content-Type', 'text/plain');
        res.setHeader('Content-Length', FILE_SIZE);
        res.write(body.subarray(0, 1000));
        setTimeout(() => res.end(body.subarray(1000)), 10);
        return;
      }
      case '/': // the served baseline
        res.end(HELLO);
        return;
      default:
        res.statusCode = 404;
        res.end('not found\n');
    }
  };
  return { kind: 'node', listener, description: 'the kit node:http compatibility app', source: undefined };
}

/**
 * Sends one request on a keep-alive connection; resolves with all that arrives within 200 ms of the
 * response head (or with what came in 2 s, when no head did).
 */
async function headOnly(socket: Socket, data: string): Promise<string> {
  let text = '';
  const onData = (chunk: Buffer) => void (text += chunk.toString('latin1'));
  socket.on('data', onData);
  socket.write(data);
  try {
    const deadline = Date.now() + 2000;
    while (!text.includes('\r\n\r\n') && Date.now() < deadline) await Promise.race([once(socket, 'data'), new Promise((resolve) => setTimeout(resolve, 100))]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    return text;
  } finally {
    socket.off('data', onData);
  }
}

/** Reads the rest of the connection (the request sent last says `Connection: close`). */
async function readToEnd(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const headerValues = (head: string, name: string): string[] =>
  head
    .split('\r\n')
    .slice(1)
    .filter((line) => line.toLowerCase().startsWith(`${name}:`))
    .map((line) => line.slice(name.length + 1).trim());

export function describeNodeCompat(getBackend: () => Backend, backendOptions?: Record<string, unknown>): void {
  describe('node:http compatibility (what middleware relies on)', () => {
    const shared = {} as { address: BoundAddress };
    let server: RunningServer | undefined;
    let directory: string;
    const serves = () => getBackend().appKinds.includes('node');
    const it: It = (name, body) =>
      kitTest(name, async (context) => {
        if (!serves()) context.skip(`the ${getBackend().name} backend does not serve node apps`);
        await body();
      });

    beforeAll(async () => {
      if (!serves()) return;
      directory = mkdtempSync(join(tmpdir(), 'chaussette-kit-'));
      const file = join(directory, 'file.txt');
      writeFileSync(file, Buffer.alloc(FILE_SIZE, 'f'));
      server = await startServer({ app: nodeCompatApp(file), backend: getBackend(), targets: [loopback], logger: quietLogger, backendOptions });
      shared.address = server.listening[0]!.bound;
    });
    servedBaseline({ check: getServed(() => shared.address), skipped: () => (serves() ? undefined : `the ${getBackend().name} backend does not serve node apps`) });
    afterAll(async () => {
      await server?.close(1000);
      if (directory) rmSync(directory, { recursive: true, force: true });
    });

    onHeadersCases(it, shared);
    headCases(it, shared);
    describePublishOnClose(getBackend, backendOptions);
  });
}

type It = (name: string, body: () => Promise<void>) => void;

function onHeadersCases(it: It, shared: { address: BoundAddress }): void {
  it('flushHeaders() goes through the writeHead that on-headers patched (express-session\'s Set-Cookie, compression)', async () => {
    const response = await request(shared.address, '/flush-headers');
    expect(response.status).toBe(200);
    expect(response.headers['set-cookie']).toEqual(['sid=s%3Aabc; Path=/; HttpOnly']);
    expect(response.headers['x-on-headers']).toBe('1'); // once
    expect(JSON.parse(response.body.toString())).toEqual({ headersSent: true });
  });

  for (const [what, path, body] of [
    ['end() without writeHead()', '/implicit-end', 'ended\n'],
    ['the first write() without writeHead()', '/implicit-write', 'written, then ended\n'],
  ] as const) {
    it(`an implicit head, ${what}, goes through the writeHead that on-headers patched`, async () => {
      const response = await request(shared.address, path);
      expect(response.status).toBe(200);
      expect(response.headers['set-cookie']).toEqual(['sid=s%3Aabc; Path=/; HttpOnly']);
      expect(response.headers['x-on-headers']).toBe('1');
      expect(response.body.toString()).toBe(body);
    });
  }
}

function headCases(it: It, shared: { address: BoundAddress }): void {
  for (const [what, path] of [
    ['declared in writeHead() with the file piped (sirv)', '/static/file.txt'],
    ['set before an implicit head, the body written in chunks', '/static/written.txt'],
  ] as const) {
    it(`HEAD keeps the Content-Length ${what}, sends Date and no body bytes, and the connection serves on`, async () => {
      const get = await request(shared.address, path);
      expect(get.status).toBe(200);
      expect(get.body.length).toBe(FILE_SIZE);
      expect(get.headers['content-length']).toBe(String(FILE_SIZE));
      const socket = await openSocket(shared.address);
      try {
        const head = await headOnly(socket, `HEAD ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
        expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
        expect(headerValues(head, 'content-length')).toEqual([String(FILE_SIZE)]); // RFC 9110 §9.3.2: the fields GET has
        expect(headerValues(head, 'content-type')).toEqual(['text/plain']);
        expect(headerValues(head, 'date')).toHaveLength(1);
        expect(headerValues(head, 'transfer-encoding')).toEqual([]);
        expect(head.indexOf('\r\n\r\n')).toBe(head.length - 4); // not one byte of the body
        // Framing intact: the next request on the connection gets its whole answer.
        socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        const next = await readToEnd(socket);
        const headEnd = next.indexOf('\r\n\r\n');
        expect(next.subarray(0, 15).toString('latin1')).toBe('HTTP/1.1 200 OK');
        expect(next.length - headEnd - 4).toBe(FILE_SIZE);
      } finally {
        socket.destroy();
      }
    });
  }
}

function describePublishOnClose(getBackend: () => Backend, backendOptions: Record<string, unknown> | undefined): void {
  describe('WebSockets: publishing as a connection closes', () => {
    let WebSocket: typeof WebSocketClient;
    let wsServer: RunningServer | undefined;
    let wsAddress: BoundAddress;
    const published: { name: string; result: number }[] = [];
    const clients: WebSocketClient[] = [];
    const supports = () => Boolean(getBackend().supports?.websocket && getBackend().appKinds.includes('fetch'));

    beforeAll(async () => {
      WebSocket = (await import('ws')).default;
      if (!supports()) return;
      wsServer = await startServer({ app: chatApp(published), backend: getBackend(), targets: [loopback], logger: quietLogger, backendOptions });
      wsAddress = wsServer.listening[0]!.bound;
    });
    afterAll(async () => {
      for (const client of clients) client.terminate();
      await wsServer?.close(1000);
    });

    /** A client whose messages are kept from the start (the welcome may come with the 101). */
    const join = async (name: string) => {
      if (wsAddress.type !== 'tcp') throw new Error('the kit serves WebSockets on TCP');
      const tls = currentTls();
      const url = `${tls ? 'wss' : 'ws'}://${tls ? 'localhost' : wsAddress.host}:${wsAddress.port}/chat?name=${name}`;
      const client = new WebSocket(url, tls && { ca: tls.ca });
      clients.push(client);
      const messages: string[] = [];
      const waiting: (() => void)[] = [];
      client.on('message', (data: Buffer) => {
        messages.push(data.toString());
        for (const wake of waiting.splice(0)) wake();
      });
      const next = async (matching: (message: string) => boolean, timeoutMs = 3000): Promise<string> => {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const found = messages.find(matching);
          if (found !== undefined) return found;
          if (Date.now() > deadline) throw new Error(`${name} got ${JSON.stringify(messages)}, not the message awaited`);
          await Promise.race([new Promise<void>((wake) => waiting.push(wake)), new Promise((resolve) => setTimeout(resolve, 50))]);
        }
      };
      await once(client, 'open');
      await next((message) => message === 'welcome');
      return { client, messages, next };
    };

    const wsIt = (name: string, body: () => Promise<void>) =>
      kitTest(name, async (context) => {
        if (!supports()) context.skip(`the ${getBackend().name} backend does not serve WebSockets of fetch apps`);
        await body();
      });

    wsIt('ws.publish() in websocket.close reaches the other subscribers, whether the client closed or vanished (the chat example)', async () => {
      const stays = await join('stays');
      const leaves = await join('leaves');
      const vanishes = await join('vanishes');
      leaves.client.close(1000, 'bye');
      expect(await stays.next((message) => message.startsWith('leaves left'))).toBe('leaves left (1000)');
      vanishes.client.terminate(); // no close frame: 1006
      expect(await stays.next((message) => message.startsWith('vanishes left'))).toBe('vanishes left (1006)');
      // publish() says the bytes it sent, as it does from any other handler.
      expect(published.find((entry) => entry.name === 'leaves')?.result).toBe(Buffer.byteLength('leaves left (1000)'));
      expect(published.find((entry) => entry.name === 'vanishes')?.result).toBe(Buffer.byteLength('vanishes left (1006)'));
      // The one that closed got nothing after its close, and the one that stays is not among what it sent itself.
      expect(stays.messages.filter((message) => message.startsWith('stays'))).toEqual([]);
    });
  });
}

/** The chat example of docs/websockets.md; what publish() said in each close goes in `published`. */
function chatApp(published: { name: string; result: number }[]): FetchApp {
  type Data = { name: string };
  return {
    kind: 'fetch',
    description: 'the kit chat app',
    source: undefined,
    fetch(request, server) {
      const name = new URL(request.url).searchParams.get('name') ?? 'guest';
      if (server.upgrade(request, { data: { name } })) return undefined;
      return new Response('Expected a WebSocket\n', { status: 426 });
    },
    websocket: {
      open(ws: ServerWebSocket<Data>) {
        ws.subscribe('room');
        ws.send('welcome'); // after subscribe(): once the client has it, it gets the room's messages
      },
      close(ws: ServerWebSocket<Data>, code) {
        const message = `${ws.data.name} left (${code})`;
        published.push({ name: ws.data.name, result: ws.publish('room', message) });
      },
    },
  };
}
