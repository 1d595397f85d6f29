// The conformance kit's WebSocket cases: a fetch app with Bun.serve()'s `websocket` handlers, driven by
// real clients (the `ws` package). Run for a backend that lists `supports.websocket`.
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type WebSocketClient from 'ws';
import { type Backend, type BoundAddress, type FetchApp, type Logger, type RunningServer, type ServerWebSocket, startServer } from '@chaussette/core';
import { getServed, servedBaseline } from './baseline.js';
import { currentTls, openSocket, request } from './client.js';
import { kitTest } from './known-failures.js';

type Client = WebSocketClient;
interface Closed {
  code: number;
  reason: string;
}
interface ClosedOnServer extends Closed {
  name: string;
}
interface ReceivedOnServer {
  name: string;
  /** A text message as it came, a binary one as its length. */
  message: string;
}

const MAX_PAYLOAD = 2 * 1024 * 1024;
const MiB = 1024 * 1024;

/** The kit's WebSocket app: an echo, with a few commands; it records what its handlers saw. */
function createWebSocketApp(): FetchApp & { closes: ClosedOnServer[]; opened: string[]; received: ReceivedOnServer[] } {
  const closes: ClosedOnServer[] = [];
  const opened: string[] = [];
  const received: ReceivedOnServer[] = [];
  type Data = { name: string };
  return {
    kind: 'fetch',
    description: 'the kit WebSocket app',
    source: undefined,
    closes,
    opened,
    received,
    fetch(request, server) {
      const url = new URL(request.url);
      const name = url.searchParams.get('name') ?? 'anonymous';
      switch (url.pathname) {
        case '/ws':
          if (server.upgrade(request, { data: { name }, headers: { 'x-upgraded': name } })) return undefined;
          return new Response('This is a WebSocket endpoint\n', { status: 426, headers: { upgrade: 'websocket' } });
        case '/ws-async':
          return (async () => {
            await new Promise((resolve) => setTimeout(resolve, 20));
            return server.upgrade(request, { data: { name } }) ? undefined : new Response('no\n', { status: 400 });
          })();
        case '/ws-refused':
          return new Response('Forbidden\n', { status: 403 });
        case '/ws-bad-headers':
          server.upgrade(request, { headers: { 'bad name': 'x' } }); // throws: Headers refuses the name
          return undefined;
        case '/ws-then-wait':
          // Upgrades at once, but fetch returns only later: the handshake completes after that.
          server.upgrade(request, { data: { name } });
          return new Promise((resolve) => setTimeout(() => resolve(undefined), Number(url.searchParams.get('ms') ?? 300)));
        case '/ws-never':
          return new Promise(() => {}); // fetch never decides
        case '/publish':
          return new Response(String(server.publish('room', `news for ${server.subscriberCount('room')}`)));
        default:
          return new Response('not a WebSocket\n');
      }
    },
    websocket: {
      maxPayloadLength: MAX_PAYLOAD,
      open(ws: ServerWebSocket<Data>) {
        opened.push(ws.data.name);
        if (ws.data.name.startsWith('room')) ws.subscribe('room');
      },
      message(ws: ServerWebSocket<Data>, message) {
        received.push({ name: ws.data.name, message: typeof message === 'string' ? message : `${message.length} bytes` });
        return answerMessage(ws, message);
      },
      drain(ws: ServerWebSocket<Data>) {
        ws.send('drained');
      },
      close(ws: ServerWebSocket<Data>, code, reason) {
        closes.push({ name: ws.data.name, code, reason });
      },
    },
  };
}

/** The kit's WebSocket app's message handler: an echo, but for a few commands sent as text. */
function answerMessage(ws: ServerWebSocket<{ name: string }>, message: string | Buffer): void | Promise<void> {
  if (typeof message !== 'string') {
    ws.send(message);
    return;
  }
  const [command = '', argument = ''] = message.split(' ', 2);
  switch (command) {
    case 'whoami':
      ws.send(JSON.stringify({ data: ws.data, remoteAddress: ws.remoteAddress, readyState: ws.readyState }));
      return;
    case 'close':
      ws.close(Number(argument), 'asked to');
      return;
    case 'throw':
      throw new Error('websocket.message failed on purpose');
    case 'reject':
      return Promise.reject(new Error('websocket.message rejected on purpose'));
    case 'publish':
      ws.publish('room', `${ws.data.name} says ${argument}`);
      return;
    case 'flood': {
      // Sends until the client (which stopped reading) holds back: send() says -1, then drain follows.
      const chunk = Buffer.alloc(MiB, 1);
      for (let sent = 1; sent <= 256; sent++) {
        if (ws.send(chunk) === -1) {
          ws.send(`held back after ${sent}`);
          return;
        }
      }
      ws.send('never held back');
      return;
    }
    case 'flood-on': {
      // Sends on past the backpressure, until send() drops (0): past backpressureLimit.
      const chunk = Buffer.alloc(16 * 1024, 2);
      for (let sent = 1; sent <= 4096 && ws.send(chunk) !== 0; sent++);
      return;
    }
    default:
      ws.send(message);
  }
}

/** A WebSocket opening handshake for `path`, as a raw client sends it. */
function handshake(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
}

/** Ends a connection with a TCP reset (a TLS socket cannot: it is just destroyed). */
function reset(socket: Socket): void {
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

const quietLogger = (): Logger & { errors: string[] } => {
  const errors: string[] = [];
  return { errors, debug() {}, info() {}, warn() {}, error: (_object, message) => void errors.push(message) };
};

export function describeWebSockets(getBackend: () => Backend, backendOptions?: Record<string, unknown>): void {
  describe('WebSockets (a fetch app with websocket handlers)', () => {
    const on = webSocketCases(getBackend, backendOptions);
    servedBaseline({
      check: getServed(() => on.address, '/', 'not a WebSocket\n'),
      skipped: () => (getBackend().supports?.websocket ? undefined : `the ${getBackend().name} backend does not list supports.websocket`),
    });
    withoutSupportCase(on);
    messageCases(on);
    closeCases(on);
    refusalCases(on);
    resilienceCases(on);
    protocolErrorCases(on);
    pubSubCases(on);
    backpressureCases(on);
    idleTimeoutCase(on);
    shutdownCases(on);
  });
}

/** What the WebSocket cases share: the kit's app on one server (started in beforeAll), its clients, and helpers. */
interface WebSocketCases {
  getBackend(): Backend;
  backendOptions: Record<string, unknown> | undefined;
  /** The `ws` package's client. */
  WebSocket: typeof WebSocketClient;
  app: ReturnType<typeof createWebSocketApp>;
  address: BoundAddress;
  logger: ReturnType<typeof quietLogger>;
  /** Every client the cases opened, terminated in afterAll. */
  open: Client[];
  serve(served: FetchApp, log: Logger): Promise<RunningServer>;
  connect(path?: string, where?: BoundAddress, options?: WebSocketClient.ClientOptions): Promise<{ client: Client; upgrade: IncomingMessage }>;
  closedOnServer(name: string): Promise<ClosedOnServer>;
  /** A case for a backend that lists supports.websocket (skipped otherwise). */
  it(name: string, body: () => Promise<void>, timeout?: number): void;
}

function webSocketCases(getBackend: () => Backend, backendOptions: Record<string, unknown> | undefined): WebSocketCases {
  let server: RunningServer | undefined;
  const on = {
    getBackend,
    backendOptions,
    open: [] as Client[],
    serve: (served, log) =>
      startServer({ app: served, backend: getBackend(), targets: [{ type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 }], logger: log, backendOptions }),
    connect: async (path = '/ws', where = on.address, options = {}) => {
      const tls = currentTls();
      const client = new on.WebSocket(urlOf(where, path), { ...options, ...(tls && { ca: tls.ca }) });
      on.open.push(client);
      const upgraded = once(client, 'upgrade') as Promise<[IncomingMessage]>;
      await once(client, 'open');
      return { client, upgrade: (await upgraded)[0] };
    },
    closedOnServer: (name) => closedOnServerOf(on.app, name),
    it: (name, body, timeout) =>
      kitTest(
        name,
        async (context) => {
          if (!getBackend().supports?.websocket) context.skip(`the ${getBackend().name} backend does not list supports.websocket`);
          await body();
        },
        timeout,
      ),
  } as WebSocketCases; // WebSocket, app, address and logger are set in beforeAll

  beforeAll(async () => {
    try {
      on.WebSocket = (await import('ws')).default;
    } catch {
      throw new Error('The kit\'s WebSocket cases need the ws package as a client (a dependency of @chaussette/testkit): reinstall @chaussette/testkit');
    }
    if (!getBackend().supports?.websocket) return;
    on.app = createWebSocketApp();
    on.logger = quietLogger();
    server = await on.serve(on.app, on.logger);
    on.address = server.listening[0]!.bound;
  });
  afterAll(async () => {
    for (const client of on.open) client.terminate();
    await server?.close(1000);
  });
  return on;
}

const urlOf = (where: BoundAddress, path: string) => {
  if (where.type !== 'tcp') throw new Error('the kit serves WebSockets on TCP');
  return `${currentTls() ? 'wss' : 'ws'}://${currentTls() ? 'localhost' : where.host}:${where.port}${path}`;
};
const nextMessage = async (client: Client): Promise<{ data: Buffer; isBinary: boolean }> => {
  const [data, isBinary] = (await once(client, 'message')) as [Buffer, boolean];
  return { data, isBinary };
};
const closeOf = async (client: Client): Promise<Closed> => {
  const [code, reason] = (await once(client, 'close')) as [number, Buffer];
  return { code, reason: reason.toString() };
};
const closedOnServerOf = async (served: ReturnType<typeof createWebSocketApp>, name: string): Promise<ClosedOnServer> => {
  for (let waited = 0; waited < 5000; waited += 20) {
    const found = served.closes.find((closed) => closed.name === name);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`websocket.close was not called for ${name}`);
};

/** A backend that does not list supports.websocket must refuse the app, not serve it without its handlers. */
function withoutSupportCase(on: WebSocketCases): void {
  const { serve } = on;
  kitTest('a backend without supports.websocket refuses an app with websocket handlers, saying so', async (context) => {
    if (on.getBackend().supports?.websocket) context.skip(`the ${on.getBackend().name} backend supports WebSockets`);
    await expect(serve(createWebSocketApp(), quietLogger())).rejects.toThrow(/cannot serve WebSocket handlers/);
  });
}

/** The handshake, and messages both ways. */
function messageCases(on: WebSocketCases): void {
  const { it, connect } = on;
  it('upgrades with the data and headers fetch gave to server.upgrade(), and echoes text as text, binary as binary', async () => {
    const { client, upgrade } = await connect('/ws?name=echo');
    expect(upgrade.statusCode).toBe(101);
    expect(upgrade.headers['x-upgraded']).toBe('echo');
    client.send('hello');
    expect(await nextMessage(client)).toEqual({ data: Buffer.from('hello'), isBinary: false });
    client.send(Buffer.from([0, 1, 2, 255]));
    expect(await nextMessage(client)).toEqual({ data: Buffer.from([0, 1, 2, 255]), isBinary: true });
    client.send('whoami');
    const whoami = JSON.parse((await nextMessage(client)).data.toString());
    expect(whoami).toEqual({ data: { name: 'echo' }, remoteAddress: '127.0.0.1', readyState: 1 });
    expect(on.app.opened).toContain('echo');
  });

  it('upgrades after fetch awaited something', async () => {
    const { client } = await connect('/ws-async?name=async');
    client.send('later');
    expect((await nextMessage(client)).data.toString()).toBe('later');
  });

  it('joins a fragmented message, and carries a 1 MiB one whole', async () => {
    const { client } = await connect('/ws?name=big');
    client.send('frag', { fin: false });
    client.send('men', { fin: false });
    client.send('ted', { fin: true });
    expect((await nextMessage(client)).data.toString()).toBe('fragmented');
    const big = Buffer.alloc(MiB);
    for (let index = 0; index < big.length; index++) big[index] = index % 251;
    client.send(big);
    const echoed = await nextMessage(client);
    expect(echoed.isBinary).toBe(true);
    expect(echoed.data.equals(big)).toBe(true);
  });

  it('answers a ping with a pong carrying its payload', async () => {
    const { client } = await connect('/ws?name=ping');
    client.ping(Buffer.from('are you there'));
    const [payload] = (await once(client, 'pong')) as [Buffer];
    expect(payload.toString()).toBe('are you there');
  });
}

/** Closes: codes and reasons, a client that vanishes, a message too big. */
function closeCases(on: WebSocketCases): void {
  const { it, connect, closedOnServer } = on;
  it('passes close codes and reasons both ways', async () => {
    const fromClient = await connect('/ws?name=client-closes');
    fromClient.client.close(4001, 'bye now');
    expect(await closeOf(fromClient.client)).toEqual({ code: 4001, reason: 'bye now' });
    expect(await closedOnServer('client-closes')).toMatchObject({ code: 4001, reason: 'bye now' });

    const fromServer = await connect('/ws?name=server-closes');
    fromServer.client.send('close 4002');
    expect(await closeOf(fromServer.client)).toEqual({ code: 4002, reason: 'asked to' });
    expect(await closedOnServer('server-closes')).toMatchObject({ code: 4002 });
  });

  it('survives a client that vanishes: websocket.close gets 1006, the others go on', async () => {
    const other = await connect('/ws?name=stays');
    const { client } = await connect('/ws?name=vanishes');
    client.terminate(); // the TCP connection ends, no close frame
    expect(await closedOnServer('vanishes')).toMatchObject({ code: 1006 });
    other.client.send('still here');
    expect((await nextMessage(other.client)).data.toString()).toBe('still here');
  });

  it(`closes with 1009 a message over maxPayloadLength (${MAX_PAYLOAD} bytes here), and goes on for others`, async () => {
    const { client } = await connect('/ws?name=too-big');
    client.on('error', () => {}); // the client may see the connection end as it still writes
    client.send(Buffer.alloc(MAX_PAYLOAD + 1));
    expect((await closeOf(client)).code).toBe(1009);
    const other = await connect('/ws?name=after-too-big');
    other.client.send('fine');
    expect((await nextMessage(other.client)).data.toString()).toBe('fine');
  });
}

/** Handshakes the app or the limits refuse. */
function refusalCases(on: WebSocketCases): void {
  const { it } = on;
  it('answers with the app\'s Response when fetch does not upgrade (a 4xx), and GET without a handshake too', async () => {
    const refused = new on.WebSocket(urlOf(on.address, '/ws-refused'), currentTls() && { ca: currentTls()!.ca });
    const [, response] = (await once(refused, 'unexpected-response')) as [unknown, IncomingMessage];
    expect(response.statusCode).toBe(403);
    response.destroy();
    const plain = await request(on.address, '/ws');
    expect(plain.status).toBe(426);
    expect(plain.body.toString()).toBe('This is a WebSocket endpoint\n');
    expect((await request(on.address, '/')).body.toString()).toBe('not a WebSocket\n');
  });

  it('refuses a handshake over the limits as any request (414 past --limit-request-line)', async () => {
    const limitedApp = createWebSocketApp();
    const limited = await startServer({
      app: limitedApp,
      backend: on.getBackend(),
      targets: [{ type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 }],
      logger: quietLogger(),
      backendOptions: on.backendOptions,
      limits: { requestLineBytes: 1024 },
    });
    try {
      const tls = currentTls();
      const client = new on.WebSocket(urlOf(limited.listening[0]!.bound, `/ws?name=${'x'.repeat(2000)}`), tls && { ca: tls.ca });
      const [, response] = (await once(client, 'unexpected-response')) as [unknown, IncomingMessage];
      expect(response.statusCode).toBe(414);
      response.destroy();
      expect(limitedApp.opened).toEqual([]);
    } finally {
      await limited.close(1000);
    }
  });
}

/** Clients that misbehave, a second server of one app, handlers that fail: the server goes on. */
function resilienceCases(on: WebSocketCases): void {
  const { it, connect, serve } = on;
  it('survives clients that reset the connection while fetch decides, or after a refusal; bad upgrade headers are a 500', async () => {
    for (const path of ['/ws-async?name=reset', '/ws-then-wait?name=reset&ms=50', '/ws-never']) {
      const socket = await openSocket(on.address);
      socket.write(handshake(path));
      await new Promise((resolve) => setTimeout(resolve, 5));
      reset(socket);
    }
    const refused = await openSocket(on.address);
    refused.write(handshake('/ws-refused'));
    await once(refused, 'data');
    reset(refused);
    const bad = await openSocket(on.address);
    bad.write(handshake('/ws-bad-headers'));
    const [answer] = (await once(bad, 'data')) as [Buffer];
    expect(answer.toString()).toMatch(/^HTTP\/1\.1 500 /);
    bad.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { client } = await connect('/ws?name=after-resets');
    client.send('alive');
    expect((await nextMessage(client)).data.toString()).toBe('alive');
  });

  it('survives a request pipelined before a handshake on one connection', async () => {
    const socket = await openSocket(on.address);
    socket.on('error', () => {});
    socket.write(
      `GET / HTTP/1.1\r\nHost: x\r\n\r\n${handshake('/ws?name=pipelined')}`,
    );
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.destroy();
    // An engine may close such a connection (uWS does); one that answers the first request goes on to upgrade.
    if (received) {
      expect(received).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(received).toContain('HTTP/1.1 101 Switching Protocols\r\n');
    }
    const { client } = await connect('/ws?name=after-pipelining');
    client.send('alive');
    expect((await nextMessage(client)).data.toString()).toBe('alive');
  });

  it('upgrades again on a server started after another one with the same app was closed', async () => {
    const reused = createWebSocketApp();
    const first = await serve(reused, quietLogger());
    await first.close(1000);
    const second = await serve(reused, quietLogger());
    try {
      const { client } = await connect('/ws?name=second-life', second.listening[0]!.bound);
      client.send('again');
      expect((await nextMessage(client)).data.toString()).toBe('again');
    } finally {
      await second.close(1000);
    }
  });

  it('keeps the connection when a handler throws or rejects, and reports the error', async () => {
    const { client } = await connect('/ws?name=throws');
    const before = on.logger.errors.length;
    client.send('throw');
    client.send('reject');
    client.send('after');
    expect((await nextMessage(client)).data.toString()).toBe('after');
    for (let waited = 0; on.logger.errors.length < before + 2 && waited < 2000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(on.logger.errors.slice(before).join('\n')).toMatch(/websocket\.message/);
  });
}

/** A masked client frame (RFC 6455 §5.2), with a payload under 64 KiB. */
function clientFrame(opcode: number, payload: string | Uint8Array, { fin = true, rsv1 = false } = {}): Buffer {
  const data = Buffer.from(payload);
  const head = data.length < 126 ? Buffer.from([0, 0x80 | data.length]) : Buffer.from([0, 0x80 | 126, data.length >> 8, data.length & 0xff]);
  head[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  return Buffer.concat([head, mask, data.map((byte, index) => byte ^ mask[index % 4]!)]);
}

/** A close frame's payload: its code, then its reason. */
function closePayload(code: number, reason: Uint8Array = Buffer.alloc(0)): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code);
  return Buffer.concat([payload, reason]);
}

/** The frames in what a server sent after its 101 (unmasked, as a server sends them), in order. */
export function serverFrames(bytes: Buffer): { opcode: number; payload: Buffer }[] {
  const frames: { opcode: number; payload: Buffer }[] = [];
  for (let at = 0; at + 2 <= bytes.length; ) {
    const opcode = bytes[at]! & 0x0f;
    let length = bytes[at + 1]! & 0x7f;
    let start = at + 2;
    if (length === 126) [length, start] = [bytes.readUInt16BE(start), start + 2];
    else if (length === 127) [length, start] = [Number(bytes.readBigUInt64BE(start)), start + 8];
    frames.push({ opcode, payload: bytes.subarray(start, start + length) });
    at = start + length;
  }
  return frames;
}

/** The close frame among the frames a server sent: its code, 'empty' without one, 'none' when no close frame came. */
function closeCodeSent(bytes: Buffer): number | 'empty' | 'none' {
  const close = serverFrames(bytes).find(({ opcode }) => opcode === 0x8);
  if (!close) return 'none';
  return close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 'empty';
}

/** What a server does with a frame a client must not send, sent between two valid messages in one write. */
async function answerToFrames(on: WebSocketCases, name: string, frames: Buffer): Promise<{ closeCode: number | 'empty' | 'none'; ended: boolean }> {
  const socket = await openSocket(on.address);
  socket.on('error', () => {});
  let received = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
  const ended = new Promise<boolean>((resolve) => {
    socket.once('end', () => resolve(true)).once('close', () => resolve(true));
    setTimeout(() => resolve(false), 3000);
  });
  socket.write(handshake(`/ws?name=${name}`));
  for (let waited = 0; !received.includes('\r\n\r\n') && waited < 3000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(received.toString('latin1')).toMatch(/^HTTP\/1\.1 101 /);
  const headEnd = received.indexOf('\r\n\r\n') + 4;
  socket.write(Buffer.concat([clientFrame(0x1, 'before'), frames, clientFrame(0x1, 'after')]));
  const answer = { ended: await ended, closeCode: closeCodeSent(received.subarray(headEnd)) };
  socket.destroy();
  return answer;
}

/**
 * Frames RFC 6455 forbids a client (§5.2, §5.4, §5.5, §5.6, §5.8, §7.4): the server fails the connection.
 * Its close frame, if it sends one, has the code of §7.4.1; uWS cuts the TCP connection without one.
 */
const FORBIDDEN_FRAMES: { error: string; frames: Buffer; code: number }[] = [
  { error: 'a reserved opcode (0x3)', frames: clientFrame(0x3, 'x'), code: 1002 },
  { error: 'RSV1 set with no extension agreed', frames: clientFrame(0x1, 'x', { rsv1: true }), code: 1002 },
  { error: 'a fragmented ping', frames: clientFrame(0x9, 'x', { fin: false }), code: 1002 },
  { error: 'a ping of 126 bytes', frames: clientFrame(0x9, Buffer.alloc(126, 0x61)), code: 1002 },
  { error: 'a continuation frame with no message to continue', frames: clientFrame(0x0, 'x'), code: 1002 },
  { error: 'a text frame inside a fragmented message', frames: Buffer.concat([clientFrame(0x1, 'a', { fin: false }), clientFrame(0x1, 'b')]), code: 1002 },
  { error: 'invalid UTF-8 in a text message', frames: clientFrame(0x1, Buffer.from([0x68, 0xff, 0xfe])), code: 1007 },
  {
    error: 'invalid UTF-8 across the fragments of a text message',
    frames: Buffer.concat([clientFrame(0x1, Buffer.from([0xce]), { fin: false }), clientFrame(0x0, 'A')]),
    code: 1007,
  },
];

/** Close frames a client must not send (§5.5.1, §7.4): the server ends the connection without echoing them. */
const FORBIDDEN_CLOSE_FRAMES: { error: string; frames: Buffer; code: number }[] = [
  { error: 'close code 999', frames: clientFrame(0x8, closePayload(999)), code: 1002 },
  { error: 'close code 1005, which only stands for "no code"', frames: clientFrame(0x8, closePayload(1005)), code: 1002 },
  { error: 'a close payload of one byte', frames: clientFrame(0x8, Buffer.from([0x03])), code: 1002 },
  { error: 'a close reason that is not UTF-8', frames: clientFrame(0x8, closePayload(1000, Buffer.from([0xff]))), code: 1007 },
];

/** Frames a client must not send: the connection ends, and nothing the client sent after them reaches the app. */
function protocolErrorCases(on: WebSocketCases): void {
  const { it, closedOnServer } = on;
  const receivedBy = (name: string) => on.app.received.filter((received) => received.name === name).map((received) => received.message);
  FORBIDDEN_FRAMES.forEach(({ error, frames, code }, index) => {
    it(`fails the connection on ${error}: ${code} or no close frame, the app's close gets ${code} or 1006, and no later message reaches it`, async () => {
      const name = `forbidden-frame-${index}`;
      const { ended, closeCode } = await answerToFrames(on, name, frames);
      expect(ended).toBe(true);
      expect([code, 'none']).toContain(closeCode);
      expect(receivedBy(name)).toEqual(['before']);
      expect([code, 1006]).toContain((await closedOnServer(name)).code);
    });
  });
  FORBIDDEN_CLOSE_FRAMES.forEach(({ error, frames, code }, index) => {
    it(`ends the connection on ${error}, with ${code} or a close frame without a code, and no later message reaches the app`, async () => {
      const name = `forbidden-close-${index}`;
      const { ended, closeCode } = await answerToFrames(on, name, frames);
      expect(ended).toBe(true);
      // uWS answers with a close frame without a code (1005 for the client), as it does on any invalid close frame.
      expect([code, 'empty', 'none']).toContain(closeCode);
      expect(receivedBy(name)).toEqual(['before']);
      expect([code, 1005, 1006]).toContain((await closedOnServer(name)).code);
    });
  });
}

/** Topics: ws.publish() and server.publish(), on one listen target and across several. */
function pubSubCases(on: WebSocketCases): void {
  const { it, connect } = on;
  it('publishes to a topic: ws.publish() reaches the other subscribers, server.publish() all of them', async () => {
    const first = await connect('/ws?name=room-1');
    const second = await connect('/ws?name=room-2');
    const outsider = await connect('/ws?name=outsider');
    const outsiderGot: string[] = [];
    outsider.client.on('message', (data: Buffer) => outsiderGot.push(data.toString()));
    const firstGot: string[] = [];
    first.client.on('message', (data: Buffer) => firstGot.push(data.toString()));
    first.client.send('publish hi');
    expect((await nextMessage(second.client)).data.toString()).toBe('room-1 says hi');
    const news = nextMessage(second.client);
    const published = await request(on.address, '/publish');
    expect(Number(published.body.toString())).toBeGreaterThan(0);
    expect((await news).data.toString()).toBe('news for 2');
    outsider.client.send('ping-through');
    await nextMessage(outsider.client);
    expect(firstGot).toEqual(['news for 2']); // not its own publication
    expect(outsiderGot).toEqual(['ping-through']);
    // A connection that never subscribed publishes too.
    const fromOutsider = nextMessage(second.client);
    outsider.client.send('publish psst');
    expect((await fromOutsider).data.toString()).toBe('outsider says psst');
  });

  it('shares topics across listen targets: a publication reaches subscribers on every one', async () => {
    const shared = await startServer({
      app: createWebSocketApp(),
      backend: on.getBackend(),
      targets: [
        { type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 },
        { type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 },
      ],
      logger: quietLogger(),
      backendOptions: on.backendOptions,
    });
    try {
      const first = await connect('/ws?name=room-a', shared.listening[0]!.bound);
      const second = await connect('/ws?name=room-b', shared.listening[1]!.bound);
      const news = nextMessage(second.client);
      first.client.send('publish across');
      expect((await news).data.toString()).toBe('room-a says across');
      const moreNews = nextMessage(first.client);
      const counted = await request(shared.listening[1]!.bound, '/publish');
      expect(Number(counted.body.toString())).toBeGreaterThan(0);
      expect((await moreNews).data.toString()).toBe('news for 2');
    } finally {
      await shared.close(1000);
    }
  });
}

/** A client that does not read: held back, drained, or closed past backpressureLimit. */
function backpressureCases(on: WebSocketCases): void {
  const { it, connect, serve } = on;
  it('holds back a client that does not read (send() says -1), and calls drain once it reads again', async () => {
    const { client } = await connect('/ws?name=slow-reader');
    const socket = (client as unknown as { _socket: import('node:net').Socket })._socket;
    const got: string[] = [];
    client.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) got.push(data.toString());
    });
    socket.pause();
    client.send('flood');
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.resume();
    for (let waited = 0; !got.includes('drained') && waited < 10_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(got[0]).toMatch(/^held back after \d+$/);
    expect(got).toContain('drained');
  }, 20_000);

  it('closes with 1008 a client that does not read, past backpressureLimit with closeOnBackpressureLimit', async () => {
    const base = createWebSocketApp();
    const strict = await serve({ ...base, websocket: { ...base.websocket, backpressureLimit: 256 * 1024, closeOnBackpressureLimit: true } }, quietLogger());
    try {
      const { client } = await connect('/ws?name=strict', strict.listening[0]!.bound);
      const socket = (client as unknown as { _socket: import('node:net').Socket })._socket;
      client.on('message', () => {});
      socket.pause();
      client.send('flood-on');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const closed = closeOf(client);
      socket.resume();
      expect((await closed).code).toBe(1008);
      expect(await closedOnServerOf(base, 'strict')).toMatchObject({ code: 1008 });
    } finally {
      await strict.close(1000);
    }
  }, 20_000);
}

/** idleTimeout and sendPings. */
function idleTimeoutCase(on: WebSocketCases): void {
  const { it, connect, serve } = on;
  it('cuts a client silent past idleTimeout, and keeps one that answers the pings (sendPings)', async () => {
    const withIdle = (sendPings: boolean): FetchApp => {
      const base = createWebSocketApp();
      return { ...base, websocket: { ...base.websocket, idleTimeout: 8, sendPings } };
    };
    const silentServer = await serve(withIdle(false), quietLogger());
    const pingingServer = await serve(withIdle(true), quietLogger());
    try {
      const silent = await connect('/ws?name=silent', silentServer.listening[0]!.bound);
      const answering = await connect('/ws?name=answering', pingingServer.listening[0]!.bound);
      let cut = 0;
      silent.client.on('close', () => (cut = Date.now()));
      const started = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 15_000));
      expect(cut).toBeGreaterThan(0);
      expect(cut - started).toBeGreaterThanOrEqual(7500); // not before the timeout (8 s)
      expect(answering.client.readyState).toBe(1);
      answering.client.send('alive');
      expect((await nextMessage(answering.client)).data.toString()).toBe('alive');
    } finally {
      await Promise.all([silentServer.close(1000), pingingServer.close(1000)]);
    }
  }, 30_000);
}

/** What a graceful close does to WebSockets, open or half-open. */
function shutdownCases(on: WebSocketCases): void {
  const { it, connect, serve } = on;
  it('at shutdown sends open WebSockets 1001 and closes once they answer, well within the graceful timeout', async () => {
    const own = await serve(createWebSocketApp(), quietLogger());
    const where = own.listening[0]!.bound;
    const { client } = await connect('/ws?name=shutdown', where);
    const closed = closeOf(client);
    const started = Date.now();
    await own.close(10_000);
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await closed).code).toBe(1001);
  });

  it('at shutdown, an upgrade accepted before it but completed after it gets 1001 too', async () => {
    const own = await serve(createWebSocketApp(), quietLogger());
    const tls = currentTls();
    const client = new on.WebSocket(urlOf(own.listening[0]!.bound, '/ws-then-wait?name=late&ms=300'), tls && { ca: tls.ca });
    on.open.push(client);
    const closed = closeOf(client);
    await new Promise((resolve) => setTimeout(resolve, 100)); // upgrade() is called; fetch has not returned
    const closing = own.close(10_000);
    expect((await closed).code).toBe(1001);
    await closing;
  });

  it('at shutdown, an upgrade whose fetch never decides is cut at the graceful timeout', async () => {
    const own = await serve(createWebSocketApp(), quietLogger());
    const socket = await openSocket(own.listening[0]!.bound);
    socket.on('error', () => {});
    socket.write(handshake('/ws-never'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await own.close(500);
    expect(Date.now() - started).toBeLessThan(3000);
    socket.destroy();
  });
}
