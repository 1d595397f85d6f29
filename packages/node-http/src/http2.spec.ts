// HTTP/2 requests through node:http2's compatibility API, on real servers of both kinds: h2c
// (http2.createServer) and TLS with allowHTTP1 (http2.createSecureServer), with node:http2 clients.
import { once } from 'node:events';
import { request as httpsRequest } from 'node:https';
import {
  type ClientHttp2Session,
  connect,
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { type AccessEntry, guardedListener, type Limits, type NodeListener, NO_WEBSOCKETS, parseTrustedProxies, resolveLimits, type TrustedProxies } from '@chaussette/core';
import { makeTestCertificates } from '@chaussette/testkit';
import express from 'express';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { fetchListener } from './fetch-listener.js';
import { limitServer } from './limits.js';
import { observeRequests } from './observe.js';

const certificates = makeTestCertificates();
const silent = { debug() {}, info() {}, warn() {}, error() {} } as unknown as Parameters<typeof fetchListener>[1];
type Kind = 'h2c' | 'h2';
let server: Http2Server | Http2SecureServer | undefined;
let sessions: ClientHttp2Session[] = [];
afterEach(() => {
  for (const session of sessions) session.destroy();
  sessions = [];
  server?.close();
});

interface Setup {
  limits?: Partial<Limits>;
  accessLog?: (entry: AccessEntry) => void;
  trustedProxies?: TrustedProxies;
  clientCertificates?: boolean;
}

/** A server of `kind` with `listener` behind the limits and the per-request options, listening on port 0. */
async function serve(kind: Kind, listener: NodeListener, setup: Setup = {}): Promise<string> {
  server =
    kind === 'h2c'
      ? createServer()
      : createSecureServer({ allowHTTP1: true, key: certificates.localhost.key, cert: certificates.localhost.cert, ca: certificates.ca.cert, requestCert: setup.clientCertificates, rejectUnauthorized: false });
  server.on('request', listener);
  limitServer(server, resolveLimits(setup.limits));
  observeRequests(server, { accessLog: setup.accessLog, trustedProxies: setup.trustedProxies });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `${kind === 'h2c' ? 'http' : 'https'}://localhost:${(server.address() as AddressInfo).port}`;
}

function session(origin: string, options: { cert?: string; key?: string } = {}): ClientHttp2Session {
  const client = connect(origin, { ca: certificates.ca.cert, ...options });
  client.on('error', () => {});
  sessions.push(client);
  return client;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  reset?: number;
}

/** One request on `client`: its answer, or the code of the RST_STREAM that ended it. */
async function send(client: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: string | Buffer): Promise<Answer> {
  const stream = client.request(headers, { endStream: body === undefined });
  if (body !== undefined) stream.end(body);
  let answer: Answer = { status: 0, headers: {}, body: '' };
  stream.on('response', (head) => (answer = { ...answer, status: Number(head[':status']), headers: head }));
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (answer.body += chunk));
  stream.on('error', () => {});
  await new Promise((resolve) => stream.once('close', resolve));
  return stream.rstCode ? { ...answer, reset: stream.rstCode } : answer;
}

const echo = fetchListener(
  async (request) => {
    const headers = Object.fromEntries(request.headers);
    const body = request.method === 'POST' ? await request.text() : '';
    return Response.json({ method: request.method, url: request.url, headers, body, certificate: (request as Request & { peerCertificate?: { subject: string } }).peerCertificate?.subject });
  },
  silent,
  () => 'fallback.test',
  NO_WEBSOCKETS,
);

describe.each<Kind>(['h2c', 'h2'])('over %s', (kind) => {
  test('a fetch app sees the request as over HTTP/1.1: no pseudo-header, host from :authority, url from :scheme, :authority and :path', async () => {
    const origin = await serve(kind, echo);
    const answer = await send(session(origin), { ':method': 'POST', ':path': '/a/../b?q=1', 'x-one': 'a', 'content-type': 'text/plain' }, 'payload');
    expect(answer.status).toBe(200);
    const seen = JSON.parse(answer.body) as { method: string; url: string; headers: Record<string, string>; body: string };
    const { port } = server!.address() as AddressInfo;
    expect(seen).toMatchObject({ method: 'POST', url: `${kind === 'h2c' ? 'http' : 'https'}://localhost:${port}/b?q=1`, body: 'payload' });
    expect(seen.headers).toMatchObject({ host: `localhost:${port}`, 'x-one': 'a' });
    expect(Object.keys(seen.headers).filter((name) => name.startsWith(':'))).toEqual([]);
  });

  test("a fetch app's response goes out without the fields only HTTP/1.1 has; HEAD gets the head only", async () => {
    const origin = await serve(
      kind,
      fetchListener(() => new Response('hello', { status: 201, statusText: 'Made', headers: { connection: 'keep-alive', 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked', 'x-kept': 'yes' } }), silent, () => 'x', NO_WEBSOCKETS),
    );
    const client = session(origin);
    const answer = await send(client, { ':path': '/' });
    expect(answer).toMatchObject({ status: 201, body: 'hello' });
    expect(answer.headers).toMatchObject({ 'x-kept': 'yes', 'content-length': '5' });
    expect(Object.keys(answer.headers)).not.toContain('keep-alive');
    expect(await send(client, { ':method': 'HEAD', ':path': '/' })).toMatchObject({ status: 201, body: '' });
  });

  test('a streamed request body comes in as the app reads it, and a streamed response goes back', async () => {
    const origin = await serve(kind, fetchListener((request) => new Response(request.body!.pipeThrough(new TextDecoderStream()).pipeThrough(upperCase()).pipeThrough(new TextEncoderStream())), silent, () => 'x', NO_WEBSOCKETS));
    const big = 'abc'.repeat(200_000); // past the stream's flow-control window
    const answer = await send(session(origin), { ':method': 'POST', ':path': '/' }, big);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(big.toUpperCase());
  });

  test("request.signal aborts when the client resets the stream; the session's other streams go on", async () => {
    let aborted!: Promise<unknown>;
    const origin = await serve(
      kind,
      fetchListener(
        (request) => {
          if (new URL(request.url).pathname === '/fine') return new Response('fine');
          aborted = once(request.signal, 'abort');
          return new Promise<Response>(() => {});
        },
        silent,
        () => 'x',
        NO_WEBSOCKETS,
      ),
    );
    const client = session(origin);
    const stream = client.request({ ':path': '/wait' });
    stream.on('error', () => {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    stream.close(8); // CANCEL
    await aborted;
    expect(await send(client, { ':path': '/fine' })).toMatchObject({ status: 200, body: 'fine' });
  });

  test.each<[string, Partial<Limits>, OutgoingHttpHeaders, number]>([
    ['a declared body over the limit', { requestBodyBytes: 10 }, { ':method': 'POST', 'content-length': '11' }, 413],
    ['header fields past their number', { requestFields: 3 }, { a: '1', b: '2', c: '3', d: '4' }, 431],
    ['headers past their size', { requestHeadersBytes: 1000 }, { big: 'x'.repeat(1000) }, 431],
    ['an :authority that is no host', {}, { ':authority': 'localhost:123456' }, 400],
    // node:http2's client sends a Host field instead of :authority, and never both.
    ['a Host that is no host', {}, { host: 'localhost:1234567' }, 400],
  ])('%s: refused per stream, and the session goes on', async (_name, limits, headers, status) => {
    const origin = await serve(kind, echo, { limits });
    const client = session(origin);
    const body = headers[':method'] === 'POST' ? 'x'.repeat(11) : undefined;
    expect((await send(client, { ':path': '/', ...headers }, body)).status).toBe(status);
    expect((await send(client, { ':path': '/' })).status).toBe(200);
  });

  test('an :authority nghttp2 refuses resets its stream only', async () => {
    const origin = await serve(kind, echo);
    const client = session(origin);
    expect((await send(client, { ':path': '/', ':authority': 'x/admin#' })).reset).toBeGreaterThan(0);
    expect((await send(client, { ':path': '/' })).status).toBe(200);
  });

  test('a body that grows past the limit without a Content-Length gets 413, and the session goes on', async () => {
    const origin = await serve(kind, echo, { limits: { requestBodyBytes: 1000 } });
    const client = session(origin);
    const answer = await send(client, { ':method': 'POST', ':path': '/' }, Buffer.alloc(5000, 'x'));
    expect(answer.status).toBe(413);
    expect((await send(client, { ':method': 'POST', ':path': '/' }, 'small')).status).toBe(200);
  });

  test('past --limit-concurrency streams in flight: 503', async () => {
    const release: (() => void)[] = [];
    const origin = await serve(kind, fetchListener(() => new Promise<Response>((resolve) => release.push(() => resolve(new Response('late')))), silent, () => 'x', NO_WEBSOCKETS), { limits: { concurrency: 1 } });
    const client = session(origin);
    const first = send(client, { ':path': '/' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await send(client, { ':path': '/' })).status).toBe(503);
    release[0]!();
    expect(await first).toMatchObject({ status: 200, body: 'late' });
  });

  test('the access log has one entry per stream: version 2.0, status, bytes, duration, aborted', async () => {
    const entries: AccessEntry[] = [];
    const origin = await serve(kind, fetchListener((request) => (new URL(request.url).pathname === '/hang' ? new Promise<Response>(() => {}) : new Response('12345')), silent, () => 'x', NO_WEBSOCKETS), {
      accessLog: (entry) => entries.push(entry),
    });
    const client = session(origin);
    await send(client, { ':path': '/ok', 'user-agent': 'probe' });
    const hanging = client.request({ ':path': '/hang' });
    hanging.on('error', () => {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    hanging.close(8);
    await expect.poll(() => entries.length).toBe(2);
    expect(entries[0]).toMatchObject({ method: 'GET', url: '/ok', httpVersion: '2.0', status: 200, bytes: 5, userAgent: 'probe', aborted: false, remoteAddress: '127.0.0.1' });
    expect(entries[0]!.durationMs).toBeGreaterThan(0);
    expect(entries[1]).toMatchObject({ url: '/hang', httpVersion: '2.0', aborted: true });
  });

  test('--proxy-headers: the client address from X-Forwarded-For, per stream', async () => {
    const origin = await serve(kind, guardedListener((req, res) => res.end(req.socket.remoteAddress), silent), { trustedProxies: parseTrustedProxies('127.0.0.1') });
    const client = session(origin);
    const [one, two] = await Promise.all([send(client, { ':path': '/', 'x-forwarded-for': '203.0.113.1' }), send(client, { ':path': '/', 'x-forwarded-for': '203.0.113.2' })]);
    expect([one.body, two.body]).toEqual(['203.0.113.1', '203.0.113.2']);
  });

  test('Express (which gives req and res node:http prototypes) is served, its errors answered 500, and the process lives', async () => {
    const app = express();
    app.get('/', (req, res) => void res.send(`hello ${req.get('user-agent')}`));
    app.post('/echo', express.text({ type: '*/*' }), (req, res) => void res.json({ body: req.body as string }));
    app.get('/boom', () => {
      throw new Error('boom');
    });
    app.get('/host', (req, res) => void res.send(`${req.hostname} ${req.headers.host}`));
    app.post('/json', express.json(), (req, res) => void res.json(req.body));
    const origin = await serve(kind, guardedListener(app as unknown as NodeListener, silent));
    const client = session(origin);
    expect(await send(client, { ':path': '/', 'user-agent': 'probe' })).toMatchObject({ status: 200, body: 'hello probe' });
    // Host from :authority, as an HTTP/2-to-HTTP/1.1 gateway adds it (RFC 9113 §8.3.1).
    expect(await send(client, { ':path': '/host' })).toMatchObject({ status: 200, body: `localhost ${new URL(origin).host}` });
    // A body without Content-Length (a stream from the client): read as a chunked one.
    expect(await send(client, { ':method': 'POST', ':path': '/json', 'content-type': 'application/json' }, '{"a":1}')).toMatchObject({ status: 200, body: '{"a":1}' });
    expect(await send(client, { ':method': 'POST', ':path': '/echo', 'content-type': 'text/plain', 'content-length': '3' }, 'abc')).toMatchObject({ status: 200, body: '{"body":"abc"}' });
    expect((await send(client, { ':path': '/boom' })).status).toBe(500);
    expect((await send(client, { ':path': '/missing' })).status).toBe(404);
  });

  test('a node app sees node:http\'s request and response: headers without pseudo-headers in a plain object, rawHeaders, _implicitHeader(), a status message dropped quietly', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      const origin = await serve(kind, guardedListener((req, res) => {
        const seen = {
          names: Object.keys(req.headers),
          ownProperty: req.headers.hasOwnProperty('x-probe'), // Next.js calls it
          rawHeaders: req.rawHeaders,
        };
        res.statusMessage = 'Fine';
        res.setHeader('content-type', 'application/json');
        (res as unknown as { _implicitHeader(): void })._implicitHeader(); // compression middleware does
        res.end(JSON.stringify(seen));
      }, silent));
      const answer = await send(session(origin), { ':path': '/', 'x-probe': 'yes' });
      expect(answer.status).toBe(200);
      const seen = JSON.parse(answer.body) as { names: string[]; ownProperty: boolean; rawHeaders: string[] };
      expect(seen.names.filter((name) => name.startsWith(':'))).toEqual([]);
      expect(seen.names).toContain('host');
      expect(seen.ownProperty).toBe(true);
      expect(seen.rawHeaders).toEqual(expect.arrayContaining(['x-probe', 'yes', 'host', new URL(origin).host]));
      expect(seen.rawHeaders.filter((field, index) => index % 2 === 0 && field.startsWith(':'))).toEqual([]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((message) => /Status message/.test(message))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  test('a request that looks like a WebSocket handshake is an ordinary request (HTTP/2 has no Upgrade)', async () => {
    const origin = await serve(kind, fetchListener((request, fetchServer) => new Response(String(fetchServer.upgrade(request)), { status: 426 }), silent, () => 'x', NO_WEBSOCKETS));
    const answer = await send(session(origin), { ':path': '/ws', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' });
    expect(answer).toMatchObject({ status: 426, body: 'false' });
  });
});

describe('over TLS', () => {
  test('request.peerCertificate: the verified client certificate over HTTP/2 and HTTP/1.1, none for a stranger or without one', async () => {
    const origin = await serve('h2', echo, { clientCertificates: true });
    const certificate = async (client: { cert: string; key: string } | undefined) => JSON.parse((await send(session(origin, client), { ':path': '/' })).body).certificate as string | undefined;
    expect(await certificate(certificates.client)).toBe('CN=client');
    expect(await certificate(certificates.strangerClient)).toBeUndefined();
    expect(await certificate(undefined)).toBeUndefined();
    const overHttp1 = await new Promise<string>((resolve, reject) => {
      httpsRequest(`${origin}/`, { ca: certificates.ca.cert, cert: certificates.client.cert, key: certificates.client.key }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk));
        response.on('end', () => resolve(body));
      })
        .on('error', reject)
        .end();
    });
    expect(JSON.parse(overHttp1)).toMatchObject({ certificate: 'CN=client', url: `${origin}/` });
  });
});

afterAll(() => {
  // The certificates' directory: makeTestCertificates() makes one per call.
  void import('node:fs').then(({ rmSync }) => rmSync(certificates.directory, { recursive: true, force: true }));
});

function upperCase(): TransformStream<string, string> {
  return new TransformStream({ transform: (chunk, controller) => controller.enqueue(chunk.toUpperCase()) });
}
