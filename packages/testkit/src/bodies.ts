// The conformance kit's request-body cases: one answer per request, whatever the app does with a body
// whose framing turns out malformed, and WebSocket messages split into many frames. Raw bytes on one
// connection, so that every status line the server sends shows, a second one hidden in a body too.
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type WebSocketClient from 'ws';
import { type AppKind, type Backend, type BoundAddress, type FetchApp, type RunningServer, type ServerWebSocket, startServer } from '@chaussette/core';
import { createFixtureApps, type FixtureApps, HELLO } from './apps.js';
import { getServed, servedBaseline } from './baseline.js';
import { currentTls, openSocket, request } from './client.js';
import type { HardeningOptions } from './hardening.js';
import { CHUNKED_BODIES_REFUSED, kitSkip, kitTest, kitTestForKind } from './known-failures.js';

const APP_KINDS: AppKind[] = ['node', 'fetch'];
const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };
const STATUS_LINE = /HTTP\/1\.[01] \d{3}[^\r\n]*/g;
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request';
/** Long enough for an app that answers at once to have answered before the rest of the request. */
const GAP_MS = 150;

/** What the fixture app's routes answer: none of it may reach a client whose request is malformed. */
const FIXTURE_TEXT = [HELLO.trim(), 'ignored', '/url', 'bytes'];

const chunkedHead = (method: string, path: string) => `${method} ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`;

/**
 * Chunked bodies whose framing is broken, as [what, the head, what follows it]: the head is fine, so
 * the app runs, and may answer before the rest arrives (in a second write, GAP_MS later).
 */
const MALFORMED_BODIES: [string, string, string][] = [
  ['a bad chunk size, to an app that ignores the body', chunkedHead('POST', '/ignore-body'), 'zz\r\nhello\r\n0\r\n\r\n'],
  ['a bad chunk size on a GET, whose body no app reads', chunkedHead('GET', '/'), 'zz\r\nhello\r\n0\r\n\r\n'],
  ['a chunk longer than its size, to an app that reads only the URL', chunkedHead('POST', '/url'), '5\r\nhelloXX\r\n0\r\n\r\n'],
  ['a bad chunk after a good one, to an app that ignores the body', chunkedHead('POST', '/ignore-body') + '5\r\nhello\r\n', 'zz\r\n\r\n'],
  ['a malformed trailer, to an app that ignores the body', chunkedHead('POST', '/ignore-body'), '5\r\nhello\r\n0\r\nno colon here\r\n\r\n'],
];

/** Requests that are malformed from the start, or become so while the app (or the engine) answers. */
const MALFORMED_REQUESTS: [string, string[]][] = [
  ...MALFORMED_BODIES.map(([what, head, rest]): [string, string[]] => [what, [head, rest]]),
  ['a bad chunk size, in the same write as the head', [chunkedHead('POST', '/ignore-body') + 'zz\r\nhello\r\n0\r\n\r\n']],
  // The engine itself may refuse the target (Fastify answers 400 to a bad percent-encoding): then the body.
  ['a bad percent-encoding in the target, then a bad chunk size', [chunkedHead('POST', '/%zz'), 'zz\r\n\r\n']],
  // The app streams its answer as the body arrives: a bad chunk must cut it, not be answered inside it.
  ['a bad chunk in a body the app streams back', [chunkedHead('POST', '/echo') + '5\r\nhello\r\n', 'zz\r\n\r\n']],
  ['garbage', ['hello\r\n\r\n']],
  ['a header without a colon', ['GET /url HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n']],
  ['two different Content-Lengths', ['POST /url HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde']],
];

interface RawExchange {
  text: string;
  /** Every status line in the bytes, wherever it is. */
  statusLines: string[];
  /** The server closed the connection within the wait. */
  closed: boolean;
}

/** Writes each part (`gapMs` apart) on one connection; collects what comes back until the server closes, or `waitMs`. */
async function exchange(address: BoundAddress, parts: string[], { gapMs = GAP_MS, waitMs = 1500 } = {}): Promise<RawExchange> {
  const socket = await openSocket(address);
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  const closed = new Promise<boolean>((resolve) => {
    socket.once('close', () => resolve(true));
    timer = setTimeout(() => resolve(false), waitMs + gapMs * parts.length);
  });
  for (const [index, part] of parts.entries()) {
    if (index > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    if (!socket.destroyed && socket.writable) socket.write(part, 'latin1');
  }
  const didClose = await closed;
  clearTimeout(timer);
  socket.destroy();
  return { text, statusLines: text.match(STATUS_LINE) ?? [], closed: didClose };
}

/** One line for a case that went wrong: what was sent, the status lines received, whether the server closed. */
function summary(what: string, { statusLines, closed }: RawExchange): string {
  return `${what}: ${statusLines.length ? statusLines.join(' + ') : 'no answer'}${closed ? ', closed' : ', left open'}`;
}

/**
 * As describeHardening has it (RFC 9112 §9.3), an engine may refuse a malformed request with a close and
 * no answer at all: the cases take that in place of the 400, never a second answer, nor a 2xx first.
 */
type Serve = (app: FetchApp | FixtureApps[AppKind]) => Promise<RunningServer>;

export function describeBodies(getBackend: () => Backend, backendOptions?: Record<string, unknown>, { refusesChunkedRequestBodies = false }: HardeningOptions = {}): void {
  const serve: Serve = (app) =>
    startServer({ app, backend: getBackend(), targets: [{ type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 }], logger: quietLogger, backendOptions });

  describe('bodies in pieces', () => {
    describeOneAnswerPerRequest(getBackend, serve, refusesChunkedRequestBodies);
    describeFragmentedMessages(getBackend, serve);
  });
}

function describeOneAnswerPerRequest(getBackend: () => Backend, serve: Serve, refusesChunkedBodies: boolean): void {
  // A backend that refuses chunked request bodies answers these 411 at their head.
  const refusals = refusesChunkedBodies ? [BAD_REQUEST, 'HTTP/1.1 411 Length Required'] : [BAD_REQUEST];
  describe.each(APP_KINDS)('one answer per request, %s app', (kind) => {
    let server: RunningServer | undefined;
    let address: BoundAddress;
    const serves = () => getBackend().appKinds.includes(kind);
    const it = kitTestForKind(getBackend, kind);

    beforeAll(async () => {
      if (!serves()) return;
      server = await serve(createFixtureApps()[kind]);
      address = server.listening[0]!.bound;
    });
    afterAll(() => server?.close(1000));
    servedBaseline({ check: getServed(() => address), skipped: () => (serves() ? undefined : `the ${getBackend().name} backend does not serve ${kind} apps`) });

    if (kind === 'fetch') {
      // A fetch app's Response is the backend's to write: it waits for a chunked body nobody reads, so
      // that a malformed one is refused before the app's answer goes out. (A node listener writes its own
      // answer when it likes: for it, the next case's one answer is the promise.)
      it('one answer per request: a malformed chunked body gets a 400 (or the close alone) and the close, never a 2xx first', async () => {
        const wrong: string[] = [];
        for (const [what, head, rest] of MALFORMED_BODIES) {
          const response = await exchange(address, [head, rest]);
          const leaked = FIXTURE_TEXT.some((text) => response.text.includes(text));
          const refused = response.text === '' ? response.statusLines.length === 0 : response.statusLines.length === 1 && refusals.includes(response.statusLines[0]!);
          if (leaked || !refused || !response.closed) wrong.push(summary(what, response));
        }
        expect(wrong).toEqual([]);
        expect((await request(address, '/')).body.toString()).toBe(HELLO);
      }, 30_000);

      (refusesChunkedBodies ? (name: string) => kitSkip(name, CHUNKED_BODIES_REFUSED) : it)('answers a well-formed chunked body the app ignores, and keeps the connection; one it reads too', async () => {
        const ignored = await exchange(address, [chunkedHead('POST', '/ignore-body'), '5\r\nhello\r\n0\r\n\r\n'], { waitMs: 300 });
        expect(ignored.statusLines).toEqual(['HTTP/1.1 200 OK']);
        expect(ignored.text).toContain('ignored');
        expect(ignored.closed).toBe(false); // keep-alive goes on
        const read = await request(address, '/digest', { method: 'POST', body: [Buffer.from('hello')] });
        expect(JSON.parse(read.body.toString())).toMatchObject({ bytes: 5 });
      });
    }

    it('a malformed request gets exactly one answer (or the close alone), then the close', async () => {
      const wrong: string[] = [];
      for (const [what, parts] of MALFORMED_REQUESTS) {
        const response = await exchange(address, parts);
        // A node listener may answer before the bad bytes arrive: that answer is then the only one.
        if (response.statusLines.length !== (response.text === '' ? 0 : 1) || !response.closed) wrong.push(summary(what, response));
      }
      expect(wrong).toEqual([]);
      expect((await request(address, '/')).body.toString()).toBe(HELLO);
    }, 30_000);
  });
}

function describeFragmentedMessages(getBackend: () => Backend, serve: Serve): void {
  describe('WebSocket messages in many frames', () => {
    const MAX_PAYLOAD = 4 * 1024 * 1024;
    let WebSocket: typeof WebSocketClient;
    let server: RunningServer | undefined;
    let address: BoundAddress;
    const open: WebSocketClient[] = [];
    const supported = () => getBackend().supports?.websocket === true && getBackend().appKinds.includes('fetch');

    beforeAll(async () => {
      WebSocket = (await import('ws')).default;
      if (!supported()) return;
      const app: FetchApp = {
        kind: 'fetch',
        description: 'the kit WebSocket echo',
        source: undefined,
        fetch: (request, server) => (server.upgrade(request) ? undefined : new Response('not a WebSocket\n', { status: 426 })),
        websocket: {
          maxPayloadLength: MAX_PAYLOAD,
          message: (ws: ServerWebSocket, message) => void ws.send(message),
        },
      };
      server = await serve(app);
      address = server.listening[0]!.bound;
    });
    afterAll(async () => {
      for (const client of open) client.terminate();
      await server?.close(1000);
    });

    const connect = async (): Promise<WebSocketClient> => {
      if (address.type !== 'tcp') throw new Error('the kit serves WebSockets on TCP');
      const tls = currentTls();
      const url = `${tls ? 'wss' : 'ws'}://${tls ? 'localhost' : address.host}:${address.port}/ws`;
      const client = new WebSocket(url, tls ? { ca: tls.ca } : {});
      open.push(client);
      await once(client, 'open');
      return client;
    };

    /** Sends `message` in `frames` frames (the last one may be longer) and resolves with the answer, or the close. */
    const sendInFrames = async (client: WebSocketClient, message: Buffer, frames: number) => {
      const answer = Promise.race([
        once(client, 'message').then(([data]) => ({ data: data as Buffer })),
        once(client, 'close').then(([code]) => ({ closed: code as number })),
      ]);
      const size = Math.floor(message.length / frames);
      for (let index = 0; index < frames; index++) {
        const last = index === frames - 1;
        client.send(message.subarray(index * size, last ? message.length : (index + 1) * size), { binary: true, fin: last });
      }
      return answer;
    };

    kitTest(`echoes a message sent in 65,536 frames, within maxPayloadLength (${MAX_PAYLOAD} bytes here)`, async (context) => {
      if (!supported()) context.skip(`the ${getBackend().name} backend does not serve WebSocket handlers`);
      // Autobahn's 9.3.1 and 9.4.1: 4 MiB in frames of 64 bytes.
      const big = Buffer.alloc(MAX_PAYLOAD);
      for (let index = 0; index < big.length; index++) big[index] = index % 251;
      const client = await connect();
      const answer = await sendInFrames(client, big, 65_536);
      expect('closed' in answer ? `closed with ${answer.closed}` : 'echoed').toBe('echoed');
      expect('data' in answer && answer.data.equals(big)).toBe(true);
      // And the smallest frames: 64 KiB, a byte per frame.
      const small = big.subarray(0, 65_536);
      const again = await sendInFrames(client, small, 65_536);
      expect('closed' in again ? `closed with ${again.closed}` : 'echoed').toBe('echoed');
      expect('data' in again && again.data.equals(small)).toBe(true);
    }, 60_000);
  });
}
