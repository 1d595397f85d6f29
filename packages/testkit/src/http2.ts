// The HTTP/2 concern, for a backend that lists supports.http2 (RFC 9113): over TLS with h2 by ALPN, and
// h2c by prior knowledge beside HTTP/1.1 on the same socket (ServeOptions.h2c). Node apps through node's
// compatibility API and fetch apps, many streams on one session, bodies streamed both ways, the limits
// per stream without harm to the session, and graceful close (GOAWAY, streams in flight finish).
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { ClientHttp2Session } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { type App, type AppKind, type BoundAddress, type FetchApp, type Limits, loadTls, type RunningServer, startServer } from '@chaussette/core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { appFor, createFixtureApps, type FixtureApps, HELLO } from './apps.js';
import { servedBaseline } from './baseline.js';
import { sharedTestCertificates } from './certificates.js';
import { request } from './client.js';
import { chunksOf, FRAME, type H2Response, h2Request, h2Session, RawH2Connection, type Transport } from './http2-client.js';
import { APP_KINDS, type Kit, kindSkipped, loopback, recordingLogger } from './kit.js';
import { kitTest } from './known-failures.js';

// Under a stream's initial window (65,535 bytes), so that the client has sent the whole body when the
// refusal's RST_STREAM (NO_ERROR) arrives: Node 22's client never closes a stream reset while its body
// waits for window (curl and Node 24's do), and the case would time out on the client, not the server.
const BODY_LIMIT = 16 * 1024;
const HEADERS_LIMIT = 8 * 1024;
const TRANSPORTS: Transport[] = ['TLS (ALPN h2)', 'h2c (prior knowledge)'];
const LARGE = 8 * 1024 * 1024;

interface Http2Cases {
  kit: Kit;
  serve(app: App, transport: Transport, limits?: Partial<Limits>): Promise<RunningServer>;
  session(address: BoundAddress, transport: Transport): Promise<ClientHttp2Session>;
  it(name: string, body: () => Promise<void>, also?: () => string | undefined, timeout?: number): void;
  skipped(): string | undefined;
}

export function describeHttp2(kit: Kit): void {
  describe('HTTP/2', () => {
    const on = http2Cases(kit);
    describe.each(TRANSPORTS.flatMap((transport) => APP_KINDS.map((kind) => [transport, kind] as const)))('%s, %s app', (transport, kind) => describeStreams(on, transport, kind));
    describe.each(TRANSPORTS)('per-stream limits and errors, %s', (transport) => describeStreamLimits(on, transport));
    describe.each(TRANSPORTS)('graceful close, %s', (transport) => describeGracefulClose(on, transport));
  });
}

function http2Cases(kit: Kit): Http2Cases {
  const skipped = () => (kit.backend().supports?.http2 ? undefined : `the ${kit.backend().name} backend does not list supports.http2`);
  const ca = () => sharedTestCertificates().ca.cert;
  return {
    kit,
    skipped,
    serve: async (app, transport, limits) => {
      const { localhost } = sharedTestCertificates();
      const tls = transport === 'TLS (ALPN h2)' ? await loadTls({ certFiles: [localhost.certFile], keyFiles: [localhost.keyFile] }) : undefined;
      return startServer({ app, backend: kit.backend(), targets: [loopback()], logger: recordingLogger(), tls, h2c: !tls, limits, backendOptions: kit.options.backendOptions });
    },
    session: (address, transport) => h2Session(address, transport === 'TLS (ALPN h2)' ? ca() : undefined),
    it: (name, body, also, timeout) =>
      kitTest(
        name,
        async (context) => {
          const why = skipped() ?? also?.();
          if (why) context.skip(why);
          await body();
        },
        timeout,
      ),
  };
}

/** The fixture app of `kind`; a fetch app also answers /request-view with the request as it sees it. */
function http2App(fixtures: FixtureApps, kind: AppKind): App {
  if (kind === 'node') return fixtures.node;
  const fixture = fixtures.fetch as FetchApp;
  return {
    ...fixture,
    fetch: (request, server) => {
      if (new URL(request.url).pathname !== '/request-view') return fixture.fetch(request, server);
      return Response.json({ method: request.method, url: request.url, headers: [...request.headers] });
    },
  };
}

const get = (path: string, method = 'GET') => ({ ':method': method, ':path': path });
const answer = (response: H2Response) => `${response.status} ${response.body.toString()}`;

/** One server and one session for the cases of a transport and app kind, the baseline asked on it. */
function sharedSession(on: Http2Cases, transport: Transport, kind: AppKind, limits?: Partial<Limits>) {
  const shared = {} as { server?: RunningServer; session: ClientHttp2Session; address: BoundAddress; fixtures: FixtureApps };
  const skipped = () => on.skipped() ?? kindSkipped(on.kit, kind);
  beforeAll(async () => {
    if (skipped()) return;
    shared.fixtures = createFixtureApps();
    shared.server = await on.serve(http2App(shared.fixtures, kind), transport, limits);
    shared.address = shared.server.listening[0]!.bound;
  });
  afterAll(async () => {
    shared.session?.destroy();
    await shared.server?.close(1000);
  });
  servedBaseline({ check: async () => void (shared.session = await servedSession(on, shared.address, transport)), skipped });
  return shared;
}

/** A session on which GET / was served (the baseline), kept for the cases that follow. */
async function servedSession(on: Http2Cases, address: BoundAddress, transport: Transport): Promise<ClientHttp2Session> {
  const session = await on.session(address, transport);
  session.on('error', () => {}); // a case that breaks the session says so itself
  expect(answer(await h2Request(session, get('/')))).toBe(`200 ${HELLO}`);
  return session;
}

function describeStreams(on: Http2Cases, transport: Transport, kind: AppKind): void {
  const shared = sharedSession(on, transport, kind);
  const it = (name: string, body: () => Promise<void>, timeout?: number) => on.it(name, body, () => kindSkipped(on.kit, kind), timeout);

  it('GET and POST: the body posted is echoed', async () => {
    expect(answer(await h2Request(shared.session, get('/url?q=1')))).toBe('200 GET /url?q=1');
    const echoed = await h2Request(shared.session, { ...get('/echo', 'POST'), 'content-type': 'text/x-kit' }, { body: 'posted over h2' });
    expect([answer(echoed), echoed.headers['content-type']]).toEqual(['200 posted over h2', 'text/x-kit']);
  });
  it('100 streams at once on one session are all answered', async () => {
    const responses = await Promise.all(Array.from({ length: 100 }, (_, index) => h2Request(shared.session, get(`/url?stream=${index}`))));
    expect(responses.map(answer)).toEqual(responses.map((_, index) => `200 GET /url?stream=${index}`));
  });
  it('HEAD: the status and headers of GET, no body', async () => {
    const head = await h2Request(shared.session, get('/', 'HEAD'));
    expect([head.status, head.headers['content-type'], head.body.length]).toEqual([200, 'text/plain; charset=utf-8', 0]);
  });
  it('a request body streams to the app while the response streams back (echo, chunk by chunk)', async () => {
    const stream = shared.session.request({ ...get('/echo', 'POST') });
    stream.write('first;');
    const [first] = (await once(stream, 'data')) as [Buffer];
    expect(first.toString()).toBe('first;');
    stream.end('second');
    let rest = '';
    for await (const chunk of stream) rest += String(chunk);
    expect(rest).toBe('second');
  });
  it('a streamed response reaches the client as the app writes it', async () => {
    const stream = shared.session.request(get('/stream'));
    const [first] = (await once(stream, 'data')) as [Buffer];
    expect(first.toString()).toBe('one\n');
    shared.fixtures.events.emit('release');
    let rest = '';
    for await (const chunk of stream) rest += String(chunk);
    expect(rest).toBe('two\n');
  });
  it('large bodies both ways, the client reading slowly: every byte, in order', async () => {
    const body = chunksOf(LARGE / (64 * 1024), 64 * 1024);
    const expected = createHash('sha256');
    for await (const chunk of chunksOf(LARGE / (64 * 1024), 64 * 1024)) expected.update(chunk);
    const digest = await h2Request(shared.session, get('/digest', 'POST'), { body });
    expect(JSON.parse(digest.body.toString())).toEqual({ bytes: LARGE, sha256: expected.digest('hex') });
    const bytes = await h2Request(shared.session, get(`/bytes?size=${LARGE}&fill=7`), { stallMs: 300 });
    expect([bytes.status, bytes.body.length, bytes.body.every((byte) => byte === 7)]).toEqual([200, LARGE, true]);
  }, 20_000);
  on.it('fetch apps: the request as the app sees it (method, url, host from :authority, no pseudo-headers)', async () => {
    const port = (shared.address as { port: number }).port;
    const headers = { ...get('/request-view?x=1', 'PATCH'), ':authority': `localhost:${port}`, 'x-kit': 'h2' };
    const view = JSON.parse((await h2Request(shared.session, headers, { body: '' })).body.toString()) as { method: string; url: string; headers: [string, string][] };
    expect(view.method).toBe('PATCH');
    expect(view.url).toBe(`${transport === 'TLS (ALPN h2)' ? 'https' : 'http'}://localhost:${port}/request-view?x=1`);
    expect(view.headers.filter(([name]) => name.startsWith(':'))).toEqual([]);
    expect(Object.fromEntries(view.headers)).toMatchObject({ host: `localhost:${port}`, 'x-kit': 'h2' });
  }, () => kindSkipped(on.kit, kind) ?? (kind === 'fetch' ? undefined : 'a fetch app\'s view of the request'));
  if (transport === 'h2c (prior knowledge)') {
    it('HTTP/1.1 is served beside h2c on the same socket', async () => {
      const response = await request(shared.address, '/');
      expect(`${response.status} ${response.body.toString()}`).toBe(`200 ${HELLO}`);
    });
  }
}

function describeStreamLimits(on: Http2Cases, transport: Transport): void {
  const kind = (): AppKind => appFor(on.kit.backend(), undefined);
  const shared = sharedSessionOfEitherKind(on, transport, { requestBodyBytes: BODY_LIMIT, requestHeadersBytes: HEADERS_LIMIT });
  const stillServed = async () => expect(answer(await h2Request(shared.session, get('/')))).toBe(`200 ${HELLO}`);

  on.it('a body past the limit gets 413 on its stream; another stream on the session is served', async () => {
    const refused = await h2Request(shared.session, { ...get('/digest', 'POST'), 'content-length': String(BODY_LIMIT + 1) }, { body: Buffer.alloc(BODY_LIMIT + 1) });
    expect(refused.status).toBe(413);
    await stillServed();
  });
  on.it('headers past the limit get 431 on their stream; another stream on the session is served', async () => {
    const refused = await h2Request(shared.session, { ...get('/'), 'x-big': 'b'.repeat(HEADERS_LIMIT) });
    expect(refused.status).toBe(431);
    await stillServed();
  });
  on.it('an app that throws gets 500 on its stream only; another stream on the session is served', async () => {
    const [thrown, other] = await Promise.all([h2Request(shared.session, get('/throw')), h2Request(shared.session, get('/url?beside'))]);
    expect(thrown.status).toBe(500);
    expect(answer(other)).toBe('200 GET /url?beside');
    await stillServed();
  });
  on.it('a session says it takes at most 100 streams at once (SETTINGS_MAX_CONCURRENT_STREAMS), not an unbounded number', async () => {
    expect(shared.session.remoteSettings.maxConcurrentStreams).toBe(100);
  });
  on.it('a session left idle past --timeout-keep-alive gets GOAWAY and is closed', async () => {
    const server = await on.serve(appFor(on.kit.backend(), createFixtureApps()), transport, { keepAliveTimeoutMs: 300 });
    const session = await servedSession(on, server.listening[0]!.bound, transport);
    try {
      const closed = once(session, 'close');
      const goaway = once(session, 'goaway');
      await Promise.race([Promise.all([goaway, closed]), new Promise((_, reject) => setTimeout(() => reject(new Error('the idle session was still open after 3 s')), 3000))]);
    } finally {
      session.destroy();
      await server.close(1000);
    }
  });
  on.it('a session whose client stops reading (its response stuck on flow control) gets GOAWAY at --timeout-keep-alive, then is cut', async () => {
    await withRawConnection(on, transport, 300, async (connection) => {
      // The connection never sends WINDOW_UPDATE: at most 65,535 bytes of the answer can come.
      connection.get(1, '/bytes?size=1000000&fill=1');
      expect(await connection.until((frames) => frames.some(({ type }) => type === FRAME.GOAWAY)), 'GOAWAY').toBe(true);
      expect(await connection.until(() => connection.closed, 3000), 'the session cut within 3 s').toBe(true);
    });
  });
  on.it('a session whose client stops reading its socket is cut after --timeout-keep-alive: the rest of its answer is not kept for it', async () => {
    const size = 32 * 1024 * 1024; // more than the kernel's buffers hold on both sides of a loopback connection
    await withRawConnection(on, transport, 300, async (connection) => {
      connection.openWindows();
      connection.get(1, `/bytes?size=${size}&fill=1`);
      expect(await connection.until(() => connection.dataLengthOf(1) > 0), 'the answer starts').toBe(true);
      connection.pause();
      await new Promise((resolve) => setTimeout(resolve, 2000));
      connection.resume();
      expect(await connection.until(() => connection.closed, 10_000), 'the connection closed, once the client read what the kernel held').toBe(true);
      expect(connection.dataLengthOf(1)).toBeLessThan(size);
    });
  });
  on.it('a stream the app answers after a silence longer than twice --timeout-keep-alive still finishes, after the GOAWAY', async () => {
    await withRawConnection(on, transport, 200, async (connection) => {
      connection.get(1, '/slow?ms=1000'); // a long poll: nothing to send until the app answers
      expect(await connection.until((frames) => frames.some(({ type }) => type === FRAME.GOAWAY)), 'GOAWAY').toBe(true);
      expect(await connection.until(() => connection.dataOf(1) === 'slow done', 3000), 'the slow answer, whole').toBe(true);
    });
  });
  on.it('past the concurrency limit a stream gets 503; the one in flight and the next are served', async () => {
    const fixtures = createFixtureApps();
    const server = await on.serve(fixtures[kind()], transport, { concurrency: 1 });
    const session = await on.session(server.listening[0]!.bound, transport);
    try {
      const started = once(fixtures.events, 'slow-started');
      const slow = h2Request(session, get('/slow?ms=300'));
      await started;
      expect((await h2Request(session, get('/'))).status).toBe(503);
      expect(answer(await slow)).toBe('200 slow done');
      expect(answer(await h2Request(session, get('/')))).toBe(`200 ${HELLO}`);
    } finally {
      session.destroy();
      await server.close(1000);
    }
  });
}

/** sharedSession() for the kind the backend serves (fetch when it serves both). */
function sharedSessionOfEitherKind(on: Http2Cases, transport: Transport, limits: Partial<Limits>) {
  const shared = {} as { server?: RunningServer; session: ClientHttp2Session };
  beforeAll(async () => {
    if (on.skipped()) return;
    shared.server = await on.serve(appFor(on.kit.backend(), createFixtureApps()), transport, limits);
  });
  afterAll(async () => {
    shared.session?.destroy();
    await shared.server?.close(1000);
  });
  servedBaseline({ check: async () => void (shared.session = await servedSession(on, shared.server!.listening[0]!.bound, transport)), skipped: on.skipped });
  return shared;
}

function describeGracefulClose(on: Http2Cases, transport: Transport): void {

  on.it('a stream in flight when close() starts finishes; the client gets GOAWAY; a stream opened after it is not served; close() resolves in time', async () => {
    const fixtures = createFixtureApps();
    const server = await on.serve(appFor(on.kit.backend(), fixtures), transport);
    const connection = await rawConnection(server.listening[0]!.bound, transport);
    try {
      connection.get(1, '/');
      expect(await connection.until(() => connection.dataOf(1) === HELLO), 'the baseline: GET / served on stream 1').toBe(true);
      const started = once(fixtures.events, 'slow-started');
      connection.get(3, '/slow?ms=400');
      await started;
      const closing = Date.now();
      const closed = server.close(3000);
      expect(await connection.until((frames) => frames.some(({ type }) => type === FRAME.GOAWAY)), 'GOAWAY').toBe(true);
      const goaway = connection.frames.find(({ type }) => type === FRAME.GOAWAY)!;
      expect(goaway.payload.readUInt32BE(0) & 0x7fffffff, 'the last stream GOAWAY lets finish').toBeGreaterThanOrEqual(3);
      connection.get(5, '/url?after-goaway'); // RFC 9113 §6.8: a stream the GOAWAY does not cover is not served
      expect(await connection.until(() => connection.dataOf(3) === 'slow done'), 'the stream in flight finished').toBe(true);
      await closed;
      expect(Date.now() - closing).toBeLessThan(2500);
      expect(connection.frames.filter(({ stream, type }) => stream === 5 && (type === FRAME.HEADERS || type === FRAME.DATA))).toEqual([]);
    } finally {
      connection.destroy();
      await server.close(0);
    }
  });
  on.it('a session left idle is closed at close(), which resolves at once', async () => {
    const server = await on.serve(appFor(on.kit.backend(), createFixtureApps()), transport);
    const session = await servedSession(on, server.listening[0]!.bound, transport).catch(async (error: unknown) => {
      await server.close(0);
      throw error;
    });
    try {
      const sessionClosed = once(session, 'close');
      const closing = Date.now();
      await server.close(3000);
      await sessionClosed;
      expect(Date.now() - closing).toBeLessThan(1000);
    } finally {
      session.destroy();
      await server.close(0);
    }
  });
}

/** `use` with a RawH2Connection to a fixture server with --timeout-keep-alive `keepAliveTimeoutMs`; both closed after. */
async function withRawConnection(on: Http2Cases, transport: Transport, keepAliveTimeoutMs: number, use: (connection: RawH2Connection) => Promise<void>): Promise<void> {
  const server = await on.serve(appFor(on.kit.backend(), createFixtureApps()), transport, { keepAliveTimeoutMs });
  const connection = await rawConnection(server.listening[0]!.bound, transport);
  try {
    await use(connection);
  } finally {
    connection.destroy();
    await server.close(0);
  }
}

/** A RawH2Connection to `address`, over TLS with ALPN h2 or h2c, once connected. */
async function rawConnection(address: BoundAddress, transport: Transport): Promise<RawH2Connection> {
  if (address.type !== 'tcp') throw new Error('the kit speaks HTTP/2 on TCP');
  const tls = transport === 'TLS (ALPN h2)';
  const socket = tls
    ? tlsConnect({ host: address.host, port: address.port, ca: sharedTestCertificates().ca.cert, servername: 'localhost', ALPNProtocols: ['h2'] })
    : netConnect(address.port, address.host);
  await once(socket, tls ? 'secureConnect' : 'connect');
  return new RawH2Connection(socket, tls ? 'https' : 'http');
}
