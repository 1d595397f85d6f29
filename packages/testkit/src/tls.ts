// The TLS concern, for a backend that lists supports.tls: servers started with ServeOptions.tls from
// loadTls() (the kit's own certificates), clients that choose their SNI, versions, ciphers and client
// certificate. RFC 8446 and 5246 for the handshake; the contract of ServeOptions.tls for the rest.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type App, type AppKind, type BoundAddress, type FetchApp, type Limits, type ListenTarget, loadTls, type RunningServer, startServer, type TlsRequest, type TlsSettings } from '@chaussette/core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { appFor, createFixtureApps, type FixtureApps, HELLO } from './apps.js';
import { servedBaseline } from './baseline.js';
import { sharedTestCertificates, type TestCertificates } from './certificates.js';
import { APP_KINDS, type Kit, kindSkipped, loopback, recordingLogger } from './kit.js';
import { kitTest } from './known-failures.js';
import { exitCode, lineReader, listeningServer, socketFd } from './processes.js';
import { httpsGet, type HttpsResponse, tlsAgent, type TlsClientOptions, tlsExchange, tlsSocket } from './tls-client.js';

const BODY_LIMIT = 64 * 1024;
const HEADERS_LIMIT = 8 * 1024;
/** Pipelined behind a refused request: it must never be answered. */
const EVIL = 'GET /evil HTTP/1.1\r\nHost: a\r\n\r\n';

/** What the TLS cases share: the backend, its servers, and the kit's certificates. */
interface TlsCases {
  kit: Kit;
  certificates(): TestCertificates;
  /** A client's options: the kit's CA, SNI localhost, and `extra`. */
  client(extra?: Partial<TlsClientOptions>): TlsClientOptions;
  /** loadTls() for the localhost certificate, then the SNI one, and `extra`. */
  settings(extra?: Partial<TlsRequest>): Promise<TlsSettings>;
  serve(app: App, tls: TlsSettings, extra?: { targets?: ListenTarget[]; limits?: Partial<Limits> }): Promise<RunningServer>;
  /** Why the concern is skipped on this backend, or undefined. */
  skipped(): string | undefined;
  /** A case skipped, saying why, on a backend without supports.tls, or when `also` gives a reason. */
  it(name: string, body: () => Promise<void>, also?: () => string | undefined): void;
}

export function describeTls(kit: Kit): void {
  describe('TLS', () => {
    const on = tlsCases(kit);
    describe.each(APP_KINDS)('%s app over TLS on TCP', (kind) => describeServedOverTls(on, kind));
    describeHandshakePolicy(on);
    describeSocketKinds(on);
    describe.each(APP_KINDS)('client certificates, %s app', (kind) => describeClientCertificates(on, kind));
    describeRenewal(on);
    describeWebSocketOverTls(on);
    describeGracefulCloseOverTls(on);
  });
}

function tlsCases(kit: Kit): TlsCases {
  const skipped = () => (kit.backend().supports?.tls ? undefined : `the ${kit.backend().name} backend does not list supports.tls`);
  const certificates = sharedTestCertificates;
  return {
    kit,
    certificates,
    skipped,
    client: (extra = {}) => ({ ca: certificates().ca.cert, ...extra }),
    settings: (extra = {}) => {
      const { localhost, otherNames } = certificates();
      return loadTls({ certFiles: [localhost.certFile, otherNames.certFile], keyFiles: [localhost.keyFile, otherNames.keyFile], ...extra });
    },
    serve: (app, tls, extra = {}) =>
      startServer({ app, backend: kit.backend(), targets: extra.targets ?? [loopback()], logger: recordingLogger(), tls, limits: extra.limits, backendOptions: kit.options.backendOptions }),
    it: (name, body, also) =>
      kitTest(name, async (context) => {
        const why = skipped() ?? also?.();
        if (why) context.skip(why);
        await body();
      }),
  };
}

/** The fixture app of `kind`, with /tls: what the app sees of the connection's TLS, as JSON. */
export function tlsApp(fixtures: FixtureApps, kind: AppKind): App {
  if (kind === 'node') {
    const fixture = fixtures.node as Extract<App, { kind: 'node' }>;
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      if (req.url !== '/tls') return fixture.listener(req, res);
      const socket = req.socket as Partial<TLSSocket>;
      const client = socket.getPeerCertificate?.().subject?.CN ?? null;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ encrypted: Boolean(socket.encrypted), authorized: socket.authorized ?? null, client }));
    };
    return { ...fixture, listener };
  }
  const fixture = fixtures.fetch as FetchApp;
  return {
    ...fixture,
    fetch: (request, server) => {
      if (new URL(request.url).pathname !== '/tls') return fixture.fetch(request, server);
      const peer = (request as Request & { peerCertificate?: { subject: string } }).peerCertificate;
      return Response.json({ url: request.url, client: peer?.subject ?? null });
    },
  };
}

/** A case's server, closed when the case ends. */
async function withServer(server: Promise<RunningServer>, use: (address: BoundAddress, server: RunningServer) => Promise<void>): Promise<void> {
  const running = await server;
  try {
    await use(running.listening[0]!.bound, running);
  } finally {
    await running.close(1000);
  }
}

function expectHello(response: HttpsResponse): void {
  expect(`${response.status} ${response.body}`).toBe(`200 ${HELLO}`);
}

/** The kit's body and header limits, but those the engine has built in (HardeningOptions.fixedLimits): those it expects. */
function limitsOf(kit: Kit): { requestBodyBytes: number; requestHeadersBytes: number } {
  const fixed = kit.options.fixedLimits ?? {};
  return { requestBodyBytes: fixed.requestBodyBytes ?? BODY_LIMIT, requestHeadersBytes: fixed.requestHeadersBytes ?? HEADERS_LIMIT };
}

/** Limits to start a server with: limitsOf() less the fixed ones, which the backend refuses to be given. */
function settableLimits(kit: Kit): Partial<Limits> {
  const limits: Partial<Limits> = { requestBodyBytes: BODY_LIMIT, requestHeadersBytes: HEADERS_LIMIT };
  for (const key of Object.keys(kit.options.fixedLimits ?? {}) as (keyof Limits)[]) delete limits[key];
  return limits;
}

/** One server of `kind` with the kit's limits (h2 offered by ALPN too, as by default), for HTTP/1.1 over TLS. */
function describeServedOverTls(on: TlsCases, kind: AppKind): void {
  let server: RunningServer | undefined;
  let address: BoundAddress;
  const skipped = () => on.skipped() ?? kindSkipped(on.kit, kind);
  const it = (name: string, body: () => Promise<void>) => on.it(name, body, () => kindSkipped(on.kit, kind));
  beforeAll(async () => {
    if (skipped()) return;
    server = await on.serve(tlsApp(createFixtureApps(), kind), await on.settings(), { limits: settableLimits(on.kit) });
    address = server.listening[0]!.bound;
  });
  afterAll(() => server?.close(1000));
  servedBaseline({ check: async () => expectHello(await httpsGet(address, '/', on.client())), skipped });

  it('the app sees the connection as TLS (fetch apps: an https:// URL; node apps: req.socket.encrypted)', async () => {
    const seen = JSON.parse((await httpsGet(address, '/tls', on.client())).body) as Record<string, unknown>;
    // The kit's client names the server 127.0.0.1 in Host (and localhost in SNI).
    if (kind === 'fetch') expect(seen.url).toBe(`https://127.0.0.1:${(address as { port: number }).port}/tls`);
    else expect(seen.encrypted).toBe(true);
  });
  it('SNI: a.sni.test gets the certificate of sni.test and *.sni.test, localhost and no name the first one', async () => {
    const served = async (servername: string) => (await httpsGet(address, '/', on.client({ servername }))).servedCertificate;
    expect(await served('a.sni.test')).toBe('sni.test');
    expect(await served('localhost')).toBe('localhost');
    expect(await served('')).toBe('localhost');
  });
  it('ALPN: h2 offered beside http/1.1 on a backend that speaks HTTP/2, http/1.1 (or none) otherwise', async () => {
    const socket = await tlsSocket(address, on.client({ ALPNProtocols: ['h2', 'http/1.1'] }));
    socket.destroy();
    if (on.kit.backend().supports?.http2) expect(socket.alpnProtocol).toBe('h2');
    else expect([false, 'http/1.1']).toContain(socket.alpnProtocol);
  });
  it('ALPN: with tls.http2 false (--no-http2), http/1.1 or none, and HTTP/1.1 served', async () => {
    await withServer(on.serve(tlsApp(createFixtureApps(), kind), await on.settings({ http2: false })), async (withoutH2) => {
      const socket = await tlsSocket(withoutH2, on.client({ ALPNProtocols: ['h2', 'http/1.1'] }));
      socket.destroy();
      expect([false, 'http/1.1']).toContain(socket.alpnProtocol);
      expectHello(await httpsGet(withoutH2, '/', on.client()));
    });
  });
  limitCasesOverTls(on, it, () => address);
}

function limitCasesOverTls(on: TlsCases, it: (name: string, body: () => Promise<void>) => void, address: () => BoundAddress): void {
  const { requestBodyBytes, requestHeadersBytes } = limitsOf(on.kit);
  const refusedAlone = async (wire: string, status: RegExp) => {
    const { text, closed } = await tlsExchange(address(), wire + EVIL, on.client());
    expect(text).toMatch(status);
    expect(text.match(/HTTP\/1\.1 \d{3}/g), `one answer only: ${text}`).toHaveLength(1);
    expect(closed, 'the connection closed').toBe(true);
  };
  it('limits as over TCP: a body past the limit gets 413, and nothing pipelined behind it is served', async () => {
    await refusedAlone(`POST /digest HTTP/1.1\r\nHost: a\r\nContent-Length: ${requestBodyBytes + 1}\r\n\r\n`, /^HTTP\/1\.1 413 /);
  });
  it('limits as over TCP: headers past the limit get 431, and nothing pipelined behind them is served', async () => {
    await refusedAlone(`GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(requestHeadersBytes)}\r\n\r\n`, /^HTTP\/1\.1 431 /);
  });
  it('framing as over TCP: two different Content-Length values get 400 or the close, and nothing pipelined behind is served', async () => {
    // RFC 9112 §6.3: unrecoverable; §9.3 lets a server close without an answer (the framing concern's rule).
    const { text, closed } = await tlsExchange(address(), 'POST /digest HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab' + EVIL, on.client());
    expect(text).toMatch(/^(HTTP\/1\.1 400 [^]*)?$/);
    expect(text.match(/HTTP\/1\.1 \d{3}/g)?.length ?? 0, `one answer at most: ${text}`).toBeLessThanOrEqual(1);
    expect(closed, 'the connection closed').toBe(true);
  });
}

// RFC 8996 deprecates TLS 1.0 and 1.1; RFC 9325 §4.1 asks for forward secrecy. An RSA certificate, so that
// a suite with RSA key exchange could be agreed on if the server allowed it (an EC one never could).
function describeHandshakePolicy(on: TlsCases): void {
  describe('handshake policy (RSA certificate)', () => {
    let server: RunningServer | undefined;
    let address: BoundAddress;
      beforeAll(async () => {
      if (on.skipped()) return;
      const { localhostRsa } = on.certificates();
      const fixtures = createFixtureApps();
      server = await on.serve(appFor(on.kit.backend(), fixtures), await loadTls({ certFiles: [localhostRsa.certFile], keyFiles: [localhostRsa.keyFile] }));
      address = server.listening[0]!.bound;
    });
    afterAll(() => server?.close(1000));
    servedBaseline({ check: async () => expectHello(await httpsGet(address, '/', on.client({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }))), skipped: on.skipped });

    for (const version of ['TLSv1', 'TLSv1.1'] as const) {
      on.it(`refuses a ${version.replace('v', ' ')} handshake`, async () => {
        // SECLEVEL=0: this client's OpenSSL would not offer TLS 1.0 or 1.1 at all otherwise.
        const attempt = tlsSocket(address, on.client({ minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0' }));
        const error = (await attempt.then((socket) => socket.destroy(), (reason: unknown) => reason)) as NodeJS.ErrnoException | undefined;
        expect(error?.code, 'refused by the server (its alert), not by this client').toMatch(/ALERT_PROTOCOL_VERSION|ALERT_HANDSHAKE_FAILURE|ECONNRESET/);
      });
    }
    on.it('refuses a suite without forward secrecy (AES128-GCM-SHA256 with TLS 1.2), agrees on ECDHE-RSA-AES128-GCM-SHA256', async () => {
      const staticRsa = tlsSocket(address, on.client({ maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256' }));
      await expect(staticRsa.then((socket) => socket.destroy())).rejects.toThrow();
      const forwardSecret = await tlsSocket(address, on.client({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }));
      expect(forwardSecret.getCipher().standardName).toBe('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
      forwardSecret.destroy();
    });
  });
}

function describeSocketKinds(on: TlsCases): void {
  describe('socket kinds', () => {
    on.it('a handshake and a request on a unix socket', async () => {
      const directory = mkdtempSync(join(tmpdir(), 'chaussette-kit-tls-'));
      try {
        const target: ListenTarget = { type: 'unix', path: join(directory, 'socket'), backlog: 511 };
        await withServer(on.serve(appFor(on.kit.backend(), createFixtureApps()), await on.settings(), { targets: [target] }), async (address) => {
          expectHello(await httpsGet(address, '/', on.client()));
        });
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    });
    const noPeerCredentials = () => (on.kit.backend().supports?.peerCredentials ? undefined : `the ${on.kit.backend().name} backend does not list peerCredentials in supports`);
    on.it('with peerCredentials, on a unix socket: the app sees the client\'s pid, uid and gid over TLS too', async () => {
      const backend = on.kit.backend();
      const directory = mkdtempSync(join(tmpdir(), 'chaussette-kit-tls-'));
      try {
        const target: ListenTarget = { type: 'unix', path: join(directory, 'socket'), backlog: 511 };
        const app = appFor(backend, createFixtureApps());
        const server = startServer({ app, backend, targets: [target], logger: recordingLogger(), tls: await on.settings(), peerCredentials: true, backendOptions: on.kit.options.backendOptions });
        await withServer(server, async (address) => {
          const response = await httpsGet(address, '/peer-credentials', on.client());
          expect(JSON.parse(response.body.toString())).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
        });
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    }, noPeerCredentials);
    on.it('a handshake and a request on an inherited fd, in a child process', async () => {
      const { localhost } = on.certificates();
      const parent = await listeningServer();
      const port = (parent.address() as { port: number }).port;
      const tlsRequest: TlsRequest = { certFiles: [localhost.certFile], keyFiles: [localhost.keyFile] };
      const { kit } = on;
      const args = [kit.options.backend, JSON.stringify(kit.searchFrom), appFor(kit.backend(), undefined), JSON.stringify(kit.options.backendOptions ?? {}), JSON.stringify(tlsRequest)];
      const child = spawn(process.execPath, [fileURLToPath(new URL('./fd-child.js', import.meta.url)), ...args], { stdio: ['ignore', 'pipe', 'inherit', socketFd(parent)] });
      parent.close(); // the child holds its own copy of the socket
      try {
        expect(await lineReader(child.stdout!).next()).toBe(`listening fd://3 (127.0.0.1:${port})`);
        expectHello(await httpsGet({ type: 'tcp', host: '127.0.0.1', port }, '/', on.client()));
        child.kill('SIGTERM');
        expect(await exitCode(child)).toBe(0);
      } finally {
        child.kill('SIGKILL');
      }
    });
  });
}

/** --cert-reqs: none is the other servers'; here optional and required, with the kit's CA. */
function describeClientCertificates(on: TlsCases, kind: AppKind): void {
  const servers: Partial<Record<'optional' | 'required', { server: RunningServer; address: BoundAddress }>> = {};
  const skipped = () => on.skipped() ?? kindSkipped(on.kit, kind);
  beforeAll(async () => {
    if (skipped()) return;
    for (const clientCertificates of ['optional', 'required'] as const) {
      const server = await on.serve(tlsApp(createFixtureApps(), kind), await on.settings({ caFile: on.certificates().ca.certFile, clientCertificates }));
      servers[clientCertificates] = { server, address: server.listening[0]!.bound };
    }
  });
  afterAll(() => Promise.all(Object.values(servers).map(({ server }) => server.close(1000))));
  const client = () => on.client({ client: on.certificates().client });
  servedBaseline({ check: async () => expectHello(await httpsGet(servers.required!.address, '/', client())), skipped });
  const it = (name: string, body: () => Promise<void>) => on.it(name, body, () => kindSkipped(on.kit, kind));
  const seen = async (which: 'optional' | 'required', options: TlsClientOptions) => JSON.parse((await httpsGet(servers[which]!.address, '/tls', options)).body) as Record<string, unknown>;

  it('optional: a client without a certificate is served, and the app sees none (node apps: authorized false)', async () => {
    const view = await seen('optional', on.client());
    expect(view.client).toBe(null);
    if (kind === 'node') expect(view.authorized).toBe(false);
  });
  it('optional: a client with a certificate the CA signed is served, and the app sees it (CN=client)', async () => {
    const view = await seen('optional', client());
    expect(view.client).toBe(kind === 'fetch' ? 'CN=client' : 'client');
    if (kind === 'node') expect(view.authorized).toBe(true);
  });
  it('required: a client with a certificate the CA signed is served, and the app sees it (CN=client)', async () => {
    expect((await seen('required', client())).client).toBe(kind === 'fetch' ? 'CN=client' : 'client');
  });
  it('required: a client without a certificate, or with one another CA signed, is refused', async () => {
    const { address } = servers.required!;
    await expect(httpsGet(address, '/', on.client())).rejects.toThrow();
    await expect(httpsGet(address, '/', on.client({ client: on.certificates().strangerClient }))).rejects.toThrow();
  });
}

function describeRenewal(on: TlsCases): void {
  describe('certificates renewed (updateTls)', () => {
    on.it('a new handshake gets the new certificate; a keep-alive connection opened before keeps working', async () => {
      const fixtures = createFixtureApps();
      await withServer(on.serve(appFor(on.kit.backend(), fixtures), await on.settings()), async (address, server) => {
        const agent = tlsAgent(on.client({ servername: '' }));
        try {
          const before = await httpsGet(address, '/', { ...on.client({ servername: '' }), agent });
          expect([before.status, before.servedCertificate]).toEqual([200, 'localhost']);
          const { otherNames, localhost } = on.certificates();
          server.updateTls(await loadTls({ certFiles: [otherNames.certFile, localhost.certFile], keyFiles: [otherNames.keyFile, localhost.keyFile] }));
          expect((await httpsGet(address, '/', on.client({ servername: '' }))).servedCertificate).toBe('sni.test');
          const kept = await httpsGet(address, '/', { ...on.client({ servername: '' }), agent });
          expect([kept.status, kept.reusedSocket, kept.servedCertificate]).toEqual([200, true, 'localhost']);
        } finally {
          agent.destroy();
        }
      });
    });
  });
}

function describeWebSocketOverTls(on: TlsCases): void {
  describe('WebSockets over TLS (wss)', () => {
    const noWebSockets = () => (on.kit.backend().supports?.websocket ? kindSkipped(on.kit, 'fetch') : `the ${on.kit.backend().name} backend does not list supports.websocket`);
    on.it('a wss:// WebSocket echoes a message', async () => {
      const app: FetchApp = {
        kind: 'fetch',
        description: 'the kit wss echo',
        source: undefined,
        fetch: (request, server) => (server.upgrade(request) ? undefined : new Response(HELLO)),
        websocket: { message: (ws, message) => void ws.send(message) },
      };
      const { default: WebSocket } = await import('ws');
      await withServer(on.serve(app, await on.settings()), async (address) => {
        expectHello(await httpsGet(address, '/', on.client()));
        const client = new WebSocket(`wss://localhost:${(address as { port: number }).port}/`, { ca: on.certificates().ca.cert });
        try {
          await once(client, 'open');
          client.send('over TLS');
          const [data] = (await once(client, 'message')) as [Buffer];
          expect(data.toString()).toBe('over TLS');
        } finally {
          client.terminate();
        }
      });
    }, noWebSockets);
  });
}

function describeGracefulCloseOverTls(on: TlsCases): void {
  describe('graceful close over TLS', () => {
    on.it('close() lets a request in flight on a keep-alive TLS connection finish, then closes it', async () => {
      const fixtures = createFixtureApps();
      const server = await on.serve(appFor(on.kit.backend(), fixtures), await on.settings());
      const address = server.listening[0]!.bound;
      const agent = tlsAgent(on.client());
      try {
        expectHello(await httpsGet(address, '/', { ...on.client(), agent }));
        const started = once(fixtures.events, 'slow-started');
        const slow = httpsGet(address, '/slow?ms=400', { ...on.client(), agent });
        await started;
        const closing = Date.now();
        const closed = server.close(3000);
        const response = await slow;
        expect([response.status, response.body, response.reusedSocket]).toEqual([200, 'slow done', true]);
        await closed;
        expect(Date.now() - closing).toBeLessThan(2500);
      } finally {
        agent.destroy();
        await server.close(0);
      }
    });
  });
}
