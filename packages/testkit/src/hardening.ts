// The conformance kit's hostile clients: the limits of ServeOptions.limits, malformed requests, slow
// and vanishing clients. Each case is what one client may not do to the server or to the other clients.
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { type App, type AppKind, type Backend, type BoundAddress, DEFAULT_LIMITS, type Limits, refusal, type RunningServer, startServer } from '@chaussette/core';
import { appFor, createFixtureApps, type FixtureApps, HELLO } from './apps.js';
import { getServed, servedBaseline } from './baseline.js';
import { openSocket, request } from './client.js';
import { CHUNKED_BODIES_REFUSED, kitSkip, kitTest, kitTestForKind } from './known-failures.js';

export interface HardeningOptions {
  /**
   * Limits the engine has built in and the backend refuses to change (see the uws backend): the kit
   * does not set them, and expects these values instead.
   */
  fixedLimits?: Partial<Limits>;
  /**
   * The engine answers bytes it cannot parse itself, in words of its own (uWS's short HTML pages), that
   * the backend cannot change: the kit checks the status of those answers, not their body.
   */
  engineWordsParseErrors?: boolean;
  /**
   * The backend answers 411 and closes the connection for every request with a chunked body (RFC 9112
   * §6.3 allows it), as the uws backend does by default: its engine's chunk parser cannot be made strict.
   * The cases that send a well-formed chunked body expect that 411 instead; those that need one served
   * are skipped.
   */
  refusesChunkedRequestBodies?: boolean;
}

// RFC 9112 §2.2 and §9.3: a server SHOULD answer a malformed request with 400 and close the connection;
// a 4xx (431, 414, 400, 505 for a bad version, 501 for an unknown coding) or a close with no answer at
// all both keep the app from the request. What no case allows: a 2xx, or the connection left open.
const REFUSED = /^(HTTP\/1\.1 (4\d\d|50[15]) .*)?$/;

const APP_KINDS: AppKind[] = ['node', 'fetch'];
const BODY_LIMIT = 64 * 1024;
const LINE_LIMIT = 1024;
const HEADERS_LIMIT = 8 * 1024;
const HEADERS_TIMEOUT_MS = 1000;
const KEEP_ALIVE_TIMEOUT_MS = 1000;

const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

export function describeHardening(getBackend: () => Backend, options: HardeningOptions = {}, backendOptions?: Record<string, unknown>): void {
  const fixed = options.fixedLimits ?? {};
  // The kit's limits, small enough to reach quickly, but those the engine has built in.
  const limits: Partial<Limits> = {
    requestBodyBytes: BODY_LIMIT,
    requestLineBytes: LINE_LIMIT,
    requestHeadersBytes: HEADERS_LIMIT,
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
    keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
  };
  for (const key of Object.keys(fixed) as (keyof Limits)[]) delete limits[key];
  const on: HardeningCases = {
    getBackend,
    fixed,
    expectWorded: options.engineWordsParseErrors ? () => {} : expectWordedAsRefusal,
    refusesChunkedBodies: options.refusesChunkedRequestBodies ?? false,
    headersTimeoutMs: fixed.headersTimeoutMs ?? HEADERS_TIMEOUT_MS,
    serve: async (app, extra = {}) =>
      startServer({ app, backend: getBackend(), targets: [{ type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 }], logger: quietLogger, limits: { ...limits, ...extra }, backendOptions }),
  };

  describe('hostile clients', () => {
    describe.each(APP_KINDS)('limits and malformed requests, %s app', (kind) => {
      const shared = sharedServer(on, kind);
      const it = kitTestForKind(getBackend, kind);
      sizeLimitCases(on, it, shared);
      fieldLimitCase(on, it, shared);
      malformedCases(on, it, shared);
      vanishingCase(on, it, shared, kind);
    });
    describe('slow and idle clients', () => {
      slowHeadersCase(on);
      idleCase(on);
      busyCase(on);
    });
  });
}

/** What the hardening cases share: the backend, its fixed limits, and a server with the kit's limits. */
interface HardeningCases {
  getBackend(): Backend;
  fixed: Partial<Limits>;
  /** Expects a refusal's body, if any, to be refusal()'s text (see HardeningOptions.engineWordsParseErrors). */
  expectWorded(response: RawResponse): void;
  /** HardeningOptions.refusesChunkedRequestBodies. */
  refusesChunkedBodies: boolean;
  headersTimeoutMs: number;
  serve(app: App, extra?: Partial<Limits>): Promise<RunningServer>;
}

type It = ReturnType<typeof kitTestForKind>;

interface SharedServer {
  /** Undefined once a case has closed it. */
  server: RunningServer | undefined;
  address: BoundAddress;
  fixtures: FixtureApps;
}

/** The fixture server of `kind`, with the kit's limits, for the cases of the current describe. */
function sharedServer(on: HardeningCases, kind: AppKind): SharedServer {
  const shared = {} as SharedServer;
  const serves = () => on.getBackend().appKinds.includes(kind);
  beforeAll(async () => {
    if (!serves()) return;
    shared.fixtures = createFixtureApps();
    shared.server = await on.serve(shared.fixtures[kind]);
    shared.address = shared.server.listening[0]!.bound;
  });
  afterAll(() => shared.server?.close(1000));
  servedBaseline({ check: getServed(() => shared.address), skipped: () => (serves() ? undefined : `the ${on.getBackend().name} backend does not serve ${kind} apps`) });
  return shared;
}

function sizeLimitCases({ fixed, expectWorded, refusesChunkedBodies }: HardeningCases, it: It, shared: SharedServer): void {
  // A chunked body never reaches the limit on a backend that refuses it at its head.
  const itChunked: It = refusesChunkedBodies ? (name) => kitSkip(name, CHUNKED_BODIES_REFUSED) : it;
  it('answers 413 to a body declared over the limit, without the app, and closes the connection', async () => {
    const response = await exchange(shared.address, `POST /digest HTTP/1.1\r\nHost: x\r\nContent-Length: ${BODY_LIMIT + 1}\r\n\r\n`);
    expect(response.statusLine).toBe('HTTP/1.1 413 Payload Too Large');
    expect(response.closed).toBe(true);
  });

  itChunked('answers 413 to a chunked body once it grows past the limit, and serves on', async () => {
    const chunk = Buffer.alloc(16 * 1024, 'a');
    const body = function* () {
      for (let sent = 0; sent <= BODY_LIMIT; sent += chunk.length) yield chunk;
    };
    const response = await request(shared.address, '/digest', { method: 'POST', body: body() });
    expect(response.status).toBe(413);
    expect((await request(shared.address, '/')).body.toString()).toBe(HELLO);
  });

  itChunked('answers 413 to a chunked body past the limit: its read fails, and nothing pipelined behind it reaches the app', async () => {
    const { events } = shared.fixtures;
    let failed = 0;
    let pipelinedSeen = 0;
    const onFailed = () => failed++;
    const onPipelined = () => pipelinedSeen++;
    events.on('body-failed', onFailed).on('slow-started', onPipelined);
    try {
      const chunk = `4000\r\n${'a'.repeat(0x4000)}\r\n`;
      const body = chunk.repeat(BODY_LIMIT / 0x4000 + 1) + '0\r\n\r\n';
      const pipelined = 'GET /slow?ms=1 HTTP/1.1\r\nHost: x\r\n\r\n';
      const response = await exchange(shared.address, `POST /digest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${body}${pipelined}`);
      expect(response.statusLine).toBe('HTTP/1.1 413 Payload Too Large');
      expect(response.text.match(/HTTP\/1\.1 \d{3}/g)).toHaveLength(1);
      expect(response.closed).toBe(true);
      for (let waited = 0; failed === 0 && waited < 1000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(failed, 'the refused body\'s read settles, rejected').toBe(1);
      expect(pipelinedSeen, 'the app ran for the request pipelined behind the refused one').toBe(0);
    } finally {
      events.off('body-failed', onFailed).off('slow-started', onPipelined);
    }
  });

  it('lets a body of exactly the limit through', async () => {
    const response = await request(shared.address, '/digest', { method: 'POST', body: Buffer.alloc(BODY_LIMIT) });
    expect(JSON.parse(response.body.toString())).toMatchObject({ bytes: BODY_LIMIT });
  });

  it('answers 414 to a request line over the limit', async () => {
    const response = await request(shared.address, `/url?${'q'.repeat(LINE_LIMIT)}`);
    expect(response.status).toBe(414);
  });

  it('refuses request headers over the limit (431, or a close), without the app', async () => {
    const big = `X-Big: ${'b'.repeat((fixed.requestHeadersBytes ?? HEADERS_LIMIT) + 1024)}\r\n`;
    const response = await exchange(shared.address, `GET /url HTTP/1.1\r\nHost: x\r\n${big}\r\n`, { slowly: true });
    expect(response.statusLine).toMatch(/^(HTTP\/1\.1 431 Request Header Fields Too Large)?$/);
    expectWorded(response);
    expect(response.text).not.toContain('/url');
    expect(response.closed).toBe(true);
  });
}

function fieldLimitCase({ fixed }: HardeningCases, it: It, shared: SharedServer): void {
  it('serves a request of as many header fields as --limit-request-fields allows, and answers 431 to one more', async () => {
    const limit = fixed.requestFields ?? DEFAULT_LIMITS.requestFields;
    // Host and the fillers: the limit, then one more.
    const withFields = (count: number) => `GET /url HTTP/1.1\r\nHost: x\r\n${'a: b\r\n'.repeat(count - 1)}\r\n`;
    expect((await exchange(shared.address, withFields(limit), { waitMs: 300 })).text).toContain('GET /url');
    const refused = await exchange(shared.address, withFields(limit + 1));
    expect(refused.statusLine).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(refused.text).not.toContain('GET /url');
    expect(refused.closed).toBe(true);
  });
}

function malformedCases({ expectWorded }: HardeningCases, it: It, shared: SharedServer): void {
  const malformed: [string, string][] = [
    ['garbage', 'hello\r\n\r\n'],
    ['a bad request line', 'GET / FOO/1.1\r\nHost: x\r\n\r\n'],
    ['a header without a colon', 'GET /url HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n'],
    ['a control character in a header', 'GET /url HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n'],
    ['two different Content-Lengths', 'POST /url HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde'],
    ['Content-Length with Transfer-Encoding', 'POST /url HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /url?smuggled HTTP/1.1\r\nHost: x\r\n\r\n'],
    // The head is fine, so the app may run; what it reads of the body must fail.
    ['a bad chunk size', 'POST /digest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'],
  ];
  for (const [what, wire] of malformed) {
    it(`refuses ${what} (a 4xx, or a close), not the app, closes the connection, and serves on`, async () => {
      const response = await exchange(shared.address, wire);
      // The fixture's /url route echoes the request line, /digest the body's size: neither may answer.
      expect(response.text).not.toContain('/url');
      expect(response.text).not.toContain('bytes');
      expect(response.statusLine).toMatch(REFUSED);
      expectWorded(response);
      expect(response.closed).toBe(true);
      expect((await request(shared.address, '/')).body.toString()).toBe(HELLO);
    });
  }
}

/** A refusal's body, if it has one, is refusal()'s plain text on every backend (Fastify's own is JSON). */
function expectWordedAsRefusal(response: RawResponse): void {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response.statusLine)?.[1] ?? 0);
  if (!status) return;
  const body = response.text.slice(response.text.indexOf('\r\n\r\n') + 4);
  if (body !== '') expect(body, `the ${status}'s body`).toBe(refusal(status).body);
}

function vanishingCase({ refusesChunkedBodies }: HardeningCases, it: It, shared: SharedServer, kind: AppKind): void {
  it(`stays healthy after 50 clients vanish mid-body (the app sees ${kind === 'fetch' ? 'request.signal abort' : "req's close before it is complete"}), and closes without waiting on them`, async () => {
    let aborted = 0;
    shared.fixtures.events.on('body-aborted', () => aborted++);
    const vanishing = Array.from({ length: 50 }, async (_, index) => {
      const socket = await openSocket(shared.address);
      const sized = index % 2 === 1 || refusesChunkedBodies;
      const framing = sized ? `Content-Length: ${BODY_LIMIT}` : 'Transfer-Encoding: chunked';
      socket.write(`POST /digest HTTP/1.1\r\nHost: x\r\n${framing}\r\n\r\n${sized ? 'a'.repeat(1000) : '3e8\r\n' + 'a'.repeat(1000)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      socket.destroy();
    });
    await Promise.all(vanishing);
    expect((await request(shared.address, '/')).body.toString()).toBe(HELLO);
    for (let waited = 0; aborted < 50 && waited < 2000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(aborted).toBe(50);
    const closing = Date.now();
    await shared.server!.close(10_000);
    shared.server = undefined;
    // A request stuck in flight would hold close() to its timeout.
    expect(Date.now() - closing).toBeLessThan(5000);
  });
}

function slowHeadersCase({ getBackend, headersTimeoutMs, serve }: HardeningCases): void {
  kitTest(
    '300 clients sending their headers slowly do not delay a normal request, and are closed after the header timeout',
    async () => {
      const server = await serve(appFor(getBackend(), createFixtureApps()));
      const address = server.listening[0]!.bound;
      const slow: Socket[] = [];
      const closed: Promise<unknown>[] = [];
      let drip: NodeJS.Timeout | undefined;
      try {
        for (let index = 0; index < 300; index++) {
          const socket = await openSocket(address);
          socket.on('error', () => {});
          socket.resume();
          // A reset after the 408 is a close too (events.once would reject on the 'error').
          closed.push(new Promise((resolve) => socket.once('close', resolve)));
          socket.write(`GET /url?slow=${index} HTTP/1.1\r\nHost: x\r\n`);
          slow.push(socket);
        }
        const opened = Date.now();
        drip = setInterval(() => {
          for (const socket of slow) if (!socket.destroyed) socket.write('X-Drip: 1\r\n');
        }, 200);
        const started = Date.now();
        const response = await request(address, '/');
        expect(response.body.toString()).toBe(HELLO);
        expect(Date.now() - started).toBeLessThan(headersTimeoutMs);
        await Promise.all(closed);
        // Closed by the header timeout, dripping or not (a check every few seconds may add to it).
        expect(Date.now() - opened).toBeLessThan(headersTimeoutMs * 1.5 + 2000);
      } finally {
        clearInterval(drip);
        for (const socket of slow) socket.destroy();
        await server.close(1000);
      }
    },
    headersTimeoutMs * 3 + 10_000,
  );
}

function idleCase({ getBackend, fixed, serve }: HardeningCases): void {
  kitTest('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const server = await serve(appFor(getBackend(), createFixtureApps()));
    const address = server.listening[0]!.bound;
    const socket = await openSocket(address);
    try {
      const answered = once(socket, 'data');
      const closed = once(socket, 'close');
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(String((await answered)[0])).toMatch(/^HTTP\/1\.1 200 OK/);
      const idleSince = Date.now();
      await closed;
      const timeout = fixed.keepAliveTimeoutMs ?? KEEP_ALIVE_TIMEOUT_MS;
      expect(Date.now() - idleSince).toBeGreaterThanOrEqual(timeout * 0.75);
      expect(Date.now() - idleSince).toBeLessThan(timeout * 1.5 + 2000);
    } finally {
      socket.destroy();
      await server.close(1000);
    }
  }, (fixed.keepAliveTimeoutMs ?? KEEP_ALIVE_TIMEOUT_MS) * 2 + 10_000);
}

function busyCase({ getBackend, serve }: HardeningCases): void {
  kitTest('answers 503 past the limit of requests in flight, and serves again once one ends', async () => {
    const fixtures = createFixtureApps();
    const server = await serve(appFor(getBackend(), fixtures), { concurrency: 1 });
    const address = server.listening[0]!.bound;
    try {
      const started = once(fixtures.events, 'slow-started');
      const slow = request(address, '/slow?ms=300');
      await started;
      const refused = await request(address, '/');
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect((await slow).body.toString()).toBe('slow done');
      expect((await request(address, '/')).body.toString()).toBe(HELLO);
    } finally {
      await server.close(1000);
    }
  });
}

interface RawResponse {
  text: string;
  statusLine: string;
  /** The server closed the connection within the wait. */
  closed: boolean;
}

/** Writes raw bytes and collects what comes back for up to `waitMs`, or until the server closes. */
async function exchange(address: BoundAddress, wire: string, { waitMs = 1500, slowly = false } = {}): Promise<RawResponse> {
  const socket = await openSocket(address);
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<boolean>((resolve) => {
    socket.once('close', () => resolve(true));
    setTimeout(() => resolve(false), waitMs);
  });
  if (slowly) {
    // In pieces, as a slow network delivers a large head: an engine cannot take it in one read.
    for (let offset = 0; offset < wire.length && !socket.destroyed; offset += 1024) {
      socket.write(wire.slice(offset, offset + 1024));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } else {
    socket.write(wire);
  }
  const didClose = await closed;
  socket.destroy();
  return { text, statusLine: text.split('\r\n', 1)[0]!, closed: didClose };
}
