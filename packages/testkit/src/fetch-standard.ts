// The fetch standard, as a fetch app's Request and Response reach the wire: the Content-Type and
// Content-Length a body gets (Fetch, "extract a body"; RFC 9110 §8.6), what becomes a 500 (a throw, a
// network error, a header value that is not a byte string or holds CR/LF), a stream that fails before
// or after its first chunk, request.url as the URL parser makes it of the target and Host (RFC 3986 §5.2.4,
// RFC 9112 §3.3), the Request object itself, a large streamed response to a slow reader, and HEAD,
// 204 and 304 (RFC 9110 §9.3.2, §15.3.5, §15.4.5). Written from the standards, every check on the bytes
// the client receives.
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { type App, type BoundAddress, installFastResponse } from '@chaussette/core';
import { describe, expect } from 'vitest';
import { HELLO } from './apps.js';
import { clientRequest, currentTls, openSocket, request } from './client.js';
import { type Kit, kindSkipped, type SharedFixture, sharedFixture } from './kit.js';
import { kitTest, kitTestForKind } from './known-failures.js';

type It = ReturnType<typeof kitTestForKind>;

// Defined when this module is imported, as an app module's subclass is. The CLI puts chaussette's Response
// in the global scope before it imports the app (loadApp()); the kit's module is imported by the test
// runner, so it does the same first.
installFastResponse();
class ImportTimeResponse extends Response {}

// Made at run time: a transform of this file (vite's) may write a lone surrogate in a literal as U+FFFD.
const LONE_SURROGATE = String.fromCharCode(0x61, 0xd800, 0x62);
const CORS_HEADERS = { 'access-control-allow-headers': 'content-type' };
const BIG_CHUNK = 64 * 1024;
const BIG_CHUNKS = 256; // 16 MiB

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function bigChunk(index: number): Uint8Array {
  return new Uint8Array(BIG_CHUNK).fill(index & 0xff);
}

function bigStream(): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream({
    pull(controller) {
      controller.enqueue(bigChunk(index++));
      if (index === BIG_CHUNKS) controller.close();
    },
  });
}

function failingStream(afterFirstChunk: boolean): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async pull(controller) {
      if (!afterFirstChunk) throw new Error('fetch standard kit: the stream failed before its first chunk');
      controller.enqueue(new TextEncoder().encode('first chunk'));
      await delay(100);
      controller.error(new Error('fetch standard kit: the stream failed after its first chunk'));
    },
  });
}

/** What the app's Request looks like from inside, in a response header (a HEAD answer has no body). */
async function bodyShape(request: Request): Promise<string> {
  if (request.body === null) return 'null';
  if (!(request.body instanceof ReadableStream)) return `not a stream: ${typeof request.body}`;
  return `stream of ${(await request.arrayBuffer()).byteLength} bytes`;
}

/** Whether request.headers stays the object taken before `use` (which builds the whole Request, if the backend defers it). */
function headersKept(request: Request, use: (request: Request) => Request | undefined): Record<string, unknown> {
  const headers = request.headers;
  headers.set('x-set-before', 'yes');
  const clone = use(request);
  return { sameObject: request.headers === headers, seenLater: request.headers.get('x-set-before'), ...(clone && { seenByClone: clone.headers.get('x-set-before') }) };
}

const ROUTES: Record<string, (request: Request) => Response | Promise<Response>> = {
  '/': () => new Response(HELLO), // the served baseline
  '/string-with-cors': () => new Response('plain text', { headers: CORS_HEADERS }),
  '/json-with-cors': () => Response.json({ ok: true }, { headers: CORS_HEADERS }),
  '/blob': () => new Response(new Blob(['blob body'], { type: 'text/x-kit-blob' })),
  '/method': (request) => new Response(request.method),
  '/form': () => new Response(new URLSearchParams({ a: '1', b: 'x y' })),
  '/import-time-subclass': () => new ImportTimeResponse('subclass body'),
  '/serving-time-subclass': () => new (class ServingTimeResponse extends Response {})('subclass body'),
  '/read-then-throw': async (request) => {
    await request.text();
    throw new Error('fetch standard kit: thrown after reading the body');
  },
  '/throw-before-read': () => {
    throw new Error('fetch standard kit: thrown before reading the body');
  },
  '/response-error': () => Response.error(),
  '/stream-error-before-first-chunk': () => new Response(failingStream(false)),
  '/stream-error-after-first-chunk': () => new Response(failingStream(true)),
  '/lone-surrogate': () => new Response(LONE_SURROGATE),
  '/header-above-latin1': () => new Response('x', { headers: { 'x-price': '€' } }),
  '/header-with-crlf': () => new Response('x', { headers: { 'x-evil': 'a\r\nx-injected: 1' } }),
  '/body-shape': async (request) => new Response(null, { status: 204, headers: { 'x-body': await bodyShape(request) } }),
  '/headers-through-clone': (request) => Response.json(headersKept(request, (used) => used.clone())),
  '/headers-through-body': (request) => Response.json(headersKept(request, (used) => void used.body)),
  '/request-class': (request) => Response.json({ instanceOfRequest: request instanceof Request, constructorIsRequest: request.constructor === Request }),
  '/big-stream': () => new Response(bigStream()),
  '/small-stream': () => new Response(new Blob(['streamed']).stream(), { headers: { 'content-type': 'text/plain' } }),
  '/204': () => new Response(null, { status: 204, headers: { 'x-kit': '204' } }),
  '/304': () => new Response(null, { status: 304, headers: { etag: '"kit"' } }),
};

function fetchStandardApp(): App {
  return {
    kind: 'fetch',
    description: 'the kit app of the fetch standard cases',
    source: undefined,
    fetch(request: Request) {
      const route = ROUTES[new URL(request.url).pathname];
      // Any other path: the URL the app was given, for the request.url cases.
      return route ? route(request) : new Response(request.url);
    },
  };
}

export function describeFetchStandard(kit: Kit): void {
  describe('the fetch standard', () => {
    const served = sharedFixture(kit, 'fetch', fetchStandardApp);
    const it = kitTestForKind(kit.backend, 'fetch');
    bodyHeaderCases(it, served);
    appErrorCases(it, served);
    responseErrorCases(it, served);
    requestUrlCases(kit, it, served);
    requestObjectCases(kit, it, served);
    backpressureCases(it, served);
    bodilessCases(it, served);
  });
}

/** One request on a connection of its own, `Connection: close`, its response as it came. */
async function exchange(address: BoundAddress, head: string, method = 'GET'): Promise<WireResponse> {
  const connection = await WireConnection.open(address);
  try {
    connection.send(head);
    return await connection.response(method);
  } finally {
    connection.close();
  }
}

const get = (path: string, method = 'GET') => `${method} ${path} HTTP/1.1\r\nHost: kit.test\r\nConnection: close\r\n\r\n`;

function expectWhole(response: WireResponse, type: string, body: string): void {
  expect(response.status, response.head).toBe(200);
  expect(response.header('content-type')).toBe(type);
  expect(response.header('content-length'), 'a Content-Length, as the length is known (RFC 9110 §8.6)').toBe(String(Buffer.byteLength(body)));
  expect(response.header('transfer-encoding')).toBeUndefined();
  expect(response.body.toString()).toBe(body);
}

function bodyHeaderCases(it: It, served: SharedFixture): void {
  describe('the headers of a body', () => {
    it('a string gets text/plain;charset=UTF-8 when a header value is content-type', async () => {
      expectWhole(await exchange(served.address, get('/string-with-cors')), 'text/plain;charset=UTF-8', 'plain text');
    });

    it('Response.json gets application/json when a header value is content-type', async () => {
      expectWhole(await exchange(served.address, get('/json-with-cors')), 'application/json', '{"ok":true}');
    });

    it('a Blob gets its type and a Content-Length', async () => {
      expectWhole(await exchange(served.address, get('/blob')), 'text/x-kit-blob', 'blob body');
    });

    it('URLSearchParams get the form type and a Content-Length', async () => {
      expectWhole(await exchange(served.address, get('/form')), 'application/x-www-form-urlencoded;charset=UTF-8', 'a=1&b=x+y');
    });

    it('a Response subclass made at import time keeps its Content-Length', async () => {
      expectWhole(await exchange(served.address, get('/import-time-subclass')), 'text/plain;charset=UTF-8', 'subclass body');
    });

    it('a Response subclass made while serving keeps its Content-Length', async () => {
      expectWhole(await exchange(served.address, get('/serving-time-subclass')), 'text/plain;charset=UTF-8', 'subclass body');
    });
  });
}

function appErrorCases(it: It, served: SharedFixture): void {
  describe('an app that throws', () => {
    it('after reading the body: 500', async () => {
      const connection = await WireConnection.open(served.address);
      try {
        connection.send('POST /read-then-throw HTTP/1.1\r\nHost: kit.test\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{"bad": }');
        expect((await connection.response()).status).toBe(500);
      } finally {
        connection.close();
      }
    });

    it('before reading the body: 500, then the connection serves on or is closed', async () => {
      const connection = await WireConnection.open(served.address);
      try {
        const body = 'x'.repeat(64 * 1024);
        connection.send(`POST /throw-before-read HTTP/1.1\r\nHost: kit.test\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        const failed = await connection.response();
        expect(failed.status).toBe(500);
        if (failed.header('connection')?.toLowerCase() === 'close') {
          expect(await connection.rest(), 'nothing after a response that says Connection: close').toHaveLength(0);
          return;
        }
        connection.send(get('/unknown-path-after-a-500'));
        const next = await connection.response();
        expect(next.status).toBe(200);
        expect(new URL(next.body.toString()).pathname).toBe('/unknown-path-after-a-500');
      } finally {
        connection.close();
      }
    });
  });
}

function responseErrorCases(it: It, served: SharedFixture): void {
  describe('responses that cannot be sent as they are', () => {
    it('Response.error(): 500', async () => {
      expect((await exchange(served.address, get('/response-error'))).status).toBe(500);
    });

    it('a stream that fails before its first chunk: 500', async () => {
      expect((await exchange(served.address, get('/stream-error-before-first-chunk'))).status).toBe(500);
    });

    it('a stream that fails after its first chunk: the chunked body is cut short', async () => {
      const response = await exchange(served.address, get('/stream-error-after-first-chunk'));
      expect(response.status).toBe(200);
      expect(response.header('transfer-encoding')).toBe('chunked');
      expect(response.body.toString()).toBe('first chunk');
      expect(response.complete, 'no last chunk: the client must see the response is incomplete').toBe(false);
    });

    it('a lone surrogate in a string goes out as EF BF BD', async () => {
      const response = await exchange(served.address, get('/lone-surrogate'));
      expect(response.body.toString('hex')).toBe('61efbfbd62');
      expect(response.header('content-length')).toBe('5');
    });

    it('a header value above U+00FF: 500', async () => {
      const response = await exchange(served.address, get('/header-above-latin1'));
      expect(response.status).toBe(500);
      expect(response.header('x-price')).toBeUndefined();
    });

    it('a header value with CR LF cannot be made: 500', async () => {
      const response = await exchange(served.address, get('/header-with-crlf'));
      expect(response.status).toBe(500);
      expect(response.header('x-injected')).toBeUndefined();
    });
  });
}

/** What the URL parser makes of a request target and Host: what request.url must be. */
function parsedUrl(target: string, host: string): string {
  const scheme = currentTls() ? 'https' : 'http';
  return new URL(target, `${scheme}://${host}`).href;
}

function requestUrlCases(kit: Kit, it: It, served: SharedFixture): void {
  describe('request.url, as new URL() makes it', () => {
    const cases: [name: string, target: string, host: string][] = [
      ['removes a .. segment', '/a/../b', 'kit.test'],
      ['removes a . segment', '/a/./b', 'kit.test'],
      ['removes a %2e%2e segment', '/%2e%2e/x', 'kit.test'],
      ['lowercases the Host and drops its default port', '/h', 'EXAMPLE.com:80'],
    ];
    for (const [name, target, host] of cases) {
      it(name, async () => {
        const response = await exchange(served.address, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
        expect(response.status, response.head).toBe(200);
        expect(response.body.toString()).toBe(parsedUrl(target, host));
      });
    }

    it('keeps the query of the target byte for byte', async () => {
      const query = '?b=/../%2e&a=%41&&c=';
      const response = await exchange(served.address, get(`/q${query}`));
      expect(response.status, response.head).toBe(200);
      expect(response.body.toString()).toBe(parsedUrl(`/q${query}`, 'kit.test'));
      expect(new URL(response.body.toString()).search).toBe(query);
    });

    it('of an absolute-form target is that target, parsed', async () => {
      const response = await exchange(served.address, 'GET http://Example.com:80/x HTTP/1.1\r\nHost: Example.com:80\r\nConnection: close\r\n\r\n');
      // RFC 9112 §3.2.2: a server must accept the absolute-form.
      expect(response.status, response.head).toBe(200);
      expect(response.body.toString()).toBe(new URL('http://Example.com:80/x').href);
    });

    // The bytes are percent-encoded as they came (é sent as C3 A9 becomes %C3%A9): read as latin1 first,
    // they would be encoded twice (%C3%83%C2%A9), another path than the client's.
    for (const [name, target] of [
      ['percent-encodes a raw space, if accepted', '/raw space'],
      ['percent-encodes a raw non-ASCII byte, if accepted', '/raw-\u00e9'],
    ] as const) {
      rawTargetCase(kit, served, name, target);
    }
  });
}

function lowercaseMethodCase(kit: Kit, served: SharedFixture): void {
  kitTest('uppercases a lowercase `post` as the standard does, if accepted', async (context) => {
    const skipped = kindSkipped(kit, 'fetch');
    if (skipped) context.skip(skipped);
    const connection = await WireConnection.open(served.address);
    let response: WireResponse | undefined;
    try {
      connection.send(Buffer.from('post /method HTTP/1.1\r\nHost: kit.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
      response = await connection.response().catch(() => undefined);
    } finally {
      connection.close();
    }
    // Methods are case-sensitive (RFC 9110 §9.1): a server may refuse `post`; one that serves it gives the app what new Request() makes of it.
    if (!response || response.status >= 400) context.skip(`the ${kit.backend().name} backend refuses the method (${response ? response.status : 'closed'})`);
    expect(response!.body.toString()).toBe('POST');
  });
}

function rawTargetCase(kit: Kit, served: SharedFixture, name: string, target: string): void {
  kitTest(name, async (context) => {
    const skipped = kindSkipped(kit, 'fetch');
    if (skipped) context.skip(skipped);
    const connection = await WireConnection.open(served.address);
    let response: WireResponse | undefined;
    try {
      connection.send(Buffer.from(`GET ${target} HTTP/1.1\r\nHost: kit.test\r\nConnection: close\r\n\r\n`, 'utf8'));
      response = await connection.response().catch(() => undefined);
    } finally {
      connection.close();
    }
    // RFC 9112 §3.2: a server may refuse such a target (4xx or 5xx, or closing); the case is for one that accepts it.
    if (!response || response.status >= 400) context.skip(`the ${kit.backend().name} backend refuses the target (${response ? response.status : 'closed'})`);
    expect(response!.body.toString()).toBe(parsedUrl(target, 'kit.test'));
  });
}

function requestObjectCases(kit: Kit, it: It, served: SharedFixture): void {
  describe('the request object', () => {
    lowercaseMethodCase(kit, served);
    for (const [article, method] of [['a', 'POST'], ['a', 'DELETE'], ['an', 'OPTIONS']]) {
      it(`${article} ${method} without a body has a body stream that reads empty`, async () => {
        const response = await exchange(served.address, get('/body-shape', method));
        expect(response.header('x-body')).toBe('stream of 0 bytes');
      });
    }

    for (const method of ['GET', 'HEAD']) {
      it(`a ${method} has a null body`, async () => {
        const response = await exchange(served.address, get('/body-shape', method), method);
        expect(response.header('x-body')).toBe('null');
      });
    }

    it('request.headers stays one object through clone(), its changes seen by the clone', async () => {
      const response = await request(served.address, '/headers-through-clone', { method: 'POST', body: 'posted' });
      expect(JSON.parse(response.body.toString())).toEqual({ sameObject: true, seenLater: 'yes', seenByClone: 'yes' });
    });

    it('request.headers stays one object once the body is taken, its changes kept', async () => {
      const response = await request(served.address, '/headers-through-body', { method: 'POST', body: 'posted' });
      expect(JSON.parse(response.body.toString())).toEqual({ sameObject: true, seenLater: 'yes' });
    });

    it('the request is a Request: instanceof and constructor', async () => {
      const response = await request(served.address, '/request-class');
      expect(JSON.parse(response.body.toString())).toEqual({ instanceOfRequest: true, constructorIsRequest: true });
    });
  });
}

const STALL_MS = 5000;

/**
 * Reads `path` with node:http, pausing 1 s after the first MiB and 50 ms after each other: resolves with
 * all it got, rejects when no byte comes for STALL_MS while it reads.
 */
function readSlowly(address: BoundAddress, path: string): Promise<{ bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const where = address.type === 'unix' ? { socketPath: address.path } : { host: address.host, port: address.port };
    const hash = createHash('sha256');
    let bytes = 0;
    let lastData = Date.now();
    const req = clientRequest({ ...where, path, agent: false }, (res) => {
      const watchdog = setInterval(() => {
        if (res.isPaused() || Date.now() - lastData < STALL_MS) return;
        req.destroy();
        reject(new Error(`The response stalled: nothing for ${STALL_MS} ms after ${bytes} bytes`));
      }, 500);
      res.on('data', (chunk: Buffer) => {
        const mebibytesBefore = Math.floor(bytes / 2 ** 20);
        lastData = Date.now();
        bytes += chunk.length;
        hash.update(chunk);
        if (Math.floor(bytes / 2 ** 20) === mebibytesBefore) return;
        res.pause();
        setTimeout(() => {
          lastData = Date.now();
          res.resume();
        }, mebibytesBefore === 0 ? 1000 : 50);
      });
      res.on('close', () => clearInterval(watchdog));
      res.on('end', () => resolve({ bytes, sha256: hash.digest('hex') }));
      res.on('error', reject);
    });
    req.on('error', reject).end();
  });
}

function backpressureCases(it: It, served: SharedFixture): void {
  describe('backpressure', () => {
    it('a 16 MiB streamed response arrives whole to a slow reader', async () => {
      const expected = createHash('sha256');
      for (let index = 0; index < BIG_CHUNKS; index++) expected.update(bigChunk(index));
      const received = await readSlowly(served.address, '/big-stream');
      expect(received).toEqual({ bytes: BIG_CHUNK * BIG_CHUNKS, sha256: expected.digest('hex') });
    }, 30_000);
  });
}

function bodilessCases(it: It, served: SharedFixture): void {
  describe('HEAD, 204 and 304', () => {
    for (const path of ['/json-with-cors', '/blob', '/small-stream']) {
      it(`HEAD of ${path}: the headers of GET, no body`, async () => {
        const got = await exchange(served.address, get(path));
        const connection = await WireConnection.open(served.address);
        try {
          // A second request on the connection: a body after the HEAD answer would be read as its head.
          connection.send(`HEAD ${path} HTTP/1.1\r\nHost: kit.test\r\n\r\n${get('/after-head')}`);
          const head = await connection.response('HEAD');
          expect(head.status).toBe(200);
          expect(head.header('content-type')).toBe(got.header('content-type'));
          if (got.header('content-length')) expect(head.header('content-length')).toBe(got.header('content-length'));
          const next = await connection.response();
          expect(next.head).toMatch(/^HTTP\/1\.1 200 /);
          expect(new URL(next.body.toString()).pathname).toBe('/after-head');
        } finally {
          connection.close();
        }
      });
    }

    it('a 204 and a 304 have no body', async () => {
      const connection = await WireConnection.open(served.address);
      try {
        connection.send(`GET /204 HTTP/1.1\r\nHost: kit.test\r\n\r\nGET /304 HTTP/1.1\r\nHost: kit.test\r\n\r\n${get('/after-304')}`);
        const [noContent, notModified, next] = [await connection.response(), await connection.response(), await connection.response()];
        expect([noContent.status, notModified.status, next.status]).toEqual([204, 304, 200]);
        expect(noContent.header('transfer-encoding')).toBeUndefined();
        expect(notModified.header('transfer-encoding')).toBeUndefined();
        expect(new URL(next.body.toString()).pathname).toBe('/after-304');
      } finally {
        connection.close();
      }
    });
  });
}

/** A response as it came on the wire. */
interface WireResponse {
  head: string;
  status: number;
  body: Buffer;
  /** False when the connection closed before the body's end (its framing incomplete). */
  complete: boolean;
  /** The field's values joined with ", ", or undefined. */
  header(name: string): string | undefined;
}

const STATUS_WITHOUT_CONTENT = /^(1\d\d|204|304)$/;

function wireResponse(head: string, body: Buffer, complete: boolean): WireResponse {
  const status = /^HTTP\/1\.[01] (\d+) /.exec(head)?.[1];
  if (!status) throw new Error(`Not a response head: ${JSON.stringify(head.slice(0, 120))}`);
  const fields = new Map<string, string[]>();
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    fields.set(name, [...(fields.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return { head, status: Number(status), body, complete, header: (name) => fields.get(name.toLowerCase())?.join(', ') };
}

/** The chunked body that starts at `at`: its data and where it ends, or `end` undefined while incomplete. */
function dechunk(bytes: Buffer, at: number): { data: Buffer; end: number | undefined } {
  const chunks: Buffer[] = [];
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd === -1) return { data: Buffer.concat(chunks), end: undefined };
    const size = Number.parseInt(bytes.subarray(at, lineEnd).toString('latin1').split(';')[0]!, 16);
    if (Number.isNaN(size)) throw new Error(`Not a chunk size: ${JSON.stringify(bytes.subarray(at, lineEnd).toString('latin1'))}`);
    if (size === 0) {
      const trailersEnd = bytes.indexOf('\r\n\r\n', lineEnd); // at lineEnd itself without trailers
      return { data: Buffer.concat(chunks), end: trailersEnd === -1 ? undefined : trailersEnd + 4 };
    }
    const dataEnd = lineEnd + 2 + size;
    if (bytes.length < dataEnd + 2) {
      chunks.push(bytes.subarray(lineEnd + 2, Math.min(dataEnd, bytes.length)));
      return { data: Buffer.concat(chunks), end: undefined };
    }
    chunks.push(bytes.subarray(lineEnd + 2, dataEnd));
    at = dataEnd + 2;
  }
}

/** The first response in `bytes`, and the bytes it took; undefined while it is incomplete and more may come. */
function firstResponse(bytes: Buffer, method: string, ended: boolean): { response: WireResponse; length: number } | undefined {
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (headEnd === -1) return undefined;
  const head = bytes.subarray(0, headEnd).toString('latin1');
  const start = headEnd + 4;
  const response = wireResponse(head, Buffer.alloc(0), true);
  if (method === 'HEAD' || STATUS_WITHOUT_CONTENT.test(String(response.status))) return { response, length: start };
  if (response.header('transfer-encoding')?.toLowerCase() === 'chunked') {
    const { data, end } = dechunk(bytes, start);
    if (end !== undefined) return { response: wireResponse(head, data, true), length: end };
    return ended ? { response: wireResponse(head, data, false), length: bytes.length } : undefined;
  }
  const declared = response.header('content-length');
  const end = declared === undefined ? (ended ? bytes.length : Infinity) : start + Number(declared);
  if (end <= bytes.length) return { response: wireResponse(head, bytes.subarray(start, end), true), length: end };
  return ended ? { response: wireResponse(head, bytes.subarray(start), false), length: bytes.length } : undefined;
}

/** One raw connection, read response by response, each framed as RFC 9112 §6.3 says. */
class WireConnection {
  static async open(address: BoundAddress): Promise<WireConnection> {
    return new WireConnection(await openSocket(address));
  }

  #socket: Socket;
  #received = Buffer.alloc(0);
  #ended = false;
  #wake: () => void = () => {};

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk]);
      this.#wake();
    });
    const end = () => {
      this.#ended = true;
      this.#wake();
    };
    socket.on('end', end).on('close', end).on('error', end);
  }

  send(data: string | Buffer): void {
    this.#socket.write(data);
  }

  close(): void {
    this.#socket.destroy();
  }

  /** The next response; rejects when none comes within `waitMs` or the connection closes before its head. */
  async response(method = 'GET', waitMs = 3000): Promise<WireResponse> {
    for (;;) {
      const found = firstResponse(this.#received, method, this.#ended);
      if (found) {
        this.#received = this.#received.subarray(found.length);
        return found.response;
      }
      if (this.#ended) throw new Error(`The connection closed before a whole response head (got ${JSON.stringify(this.#received.toString('latin1').slice(0, 120))})`);
      await this.#more(waitMs);
    }
  }

  /** All that comes until the server closes the connection. */
  async rest(waitMs = 3000): Promise<Buffer> {
    while (!this.#ended) await this.#more(waitMs);
    return this.#received;
  }

  #more(waitMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Nothing more from the server within ${waitMs} ms (got ${JSON.stringify(this.#received.toString('latin1').slice(0, 120))})`)), waitMs);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
