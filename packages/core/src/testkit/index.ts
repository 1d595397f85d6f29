// The conformance kit: one vitest suite that every chaussette backend, ours or a third party's, runs
// against itself. Real servers on port 0, real sockets, a real child process on an inherited fd.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AccessEntry, App, AppKind, Backend, BoundAddress, ListenTarget, Logger } from '../backend.js';
import { resolveBackend } from '../resolve-backend.js';
import { type RunningServer, startServer, type StartOptions } from '../serve.js';
import { appFor, createFixtureApps, type FixtureApps, HELLO } from './apps.js';
import { canConnect, clientRequest, type ClientTls, keepAliveAgent, openSocket, request, useTls } from './client.js';
import { describeDraining } from './draining.js';
import { describeBodies } from './bodies.js';
import { describeFraming } from './framing.js';
import { describeNodeCompat } from './node-compat.js';
import { expectFailures } from './known-failures.js';
import { describeHardening, type HardeningOptions } from './hardening.js';
import { exitCode, lineReader, listeningServer, socketFd } from './processes.js';
import { describeWebSockets } from './websocket.js';

export { createFixtureApps, type FixtureApps, HELLO } from './apps.js';
export { type ClientKind, type Load, type LoadOptions, type LoadResult, startLoad } from './load.js';
export { socketFd } from './processes.js';
export { canConnect, clientRequest, type ClientResponse, type ClientTls, keepAliveAgent, openSocket, request, type RequestOptions, useTls } from './client.js';

export interface ConformanceOptions extends HardeningOptions {
  /** For a backend that serves TLS: the CA that signed its certificate (for `localhost`), so the kit's clients trust it. */
  tls?: ClientTls;
  /** ServeOptions.backendOptions for every server the kit starts (e.g. the certificate's paths). */
  backendOptions?: Record<string, unknown>;
  /**
   * True for an engine that closes the connection of a client that pipelines requests and reads none of
   * the answers, once a few MB wait for it (uWebSockets.js): the kit then checks only the answers sent.
   */
  cutsStalledPipelines?: boolean;
  /**
   * Cases this backend is known to fail, by name: each a flaw of its engine that the backend documents
   * (SECURITY.md). They run as `test.fails`, so that one that starts to pass shows too.
   */
  knownFailures?: string[];
  /** The backend as `--backend` takes it: a name, a package name, or a path to the package or module. */
  backend: string;
  /** Where to resolve it from (default: the current directory). */
  searchFrom?: string[];
}

const APP_KINDS: AppKind[] = ['node', 'fetch'];

/** A logger that keeps what the server logged, so tests can check that app errors are reported. */
export function recordingLogger(): Logger & { errors: { err: unknown; message: string }[] } {
  const errors: { err: unknown; message: string }[] = [];
  return { errors, debug() {}, info() {}, warn() {}, error: ({ err }, message) => void errors.push({ err, message }) };
}

const loopback = (port = 0): ListenTarget => ({ type: 'tcp', host: '127.0.0.1', port, backlog: 511 });

export function runConformanceSuite(options: ConformanceOptions): void {
  const conformance = options;
  const searchFrom = options.searchFrom ?? [process.cwd()];
  let backend: Backend;
  useTls(options.tls);
  expectFailures(options.knownFailures);

  describe(`chaussette backend conformance (${options.backend})`, () => {
    beforeAll(async () => {
      backend = await resolveBackend(options.backend, { searchFrom });
    });

    describe.each(APP_KINDS)('%s app', (kind) => {
      let fixtures: FixtureApps;
      let server: RunningServer | undefined;
      let address: BoundAddress;
      const logger = recordingLogger();

      beforeAll(async () => {
        if (!backend.appKinds.includes(kind)) return;
        fixtures = createFixtureApps();
        server = await startServer({ app: fixtures[kind], backend, targets: [loopback()], logger, backendOptions: options.backendOptions });
        address = server.listening[0]!.bound;
      });
      afterAll(() => server?.close(1000));

      const serves = () => backend.appKinds.includes(kind);
      const it = (name: string, body: () => Promise<void>) =>
        test(name, async (context) => {
          if (!serves()) context.skip(`the ${backend.name} backend does not serve ${kind} apps`);
          await body();
        });

      it('answers GET with status, headers and body, on the port it reports', async () => {
        expect(address.type === 'tcp' && address.port).toBeGreaterThan(0);
        const response = await request(address, '/');
        expect(response.status).toBe(200);
        expect(response.statusText).toBe('OK');
        expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
        expect(response.body.toString()).toBe(HELLO);
      });

      it('passes method, path and query to the app', async () => {
        const response = await request(address, '/url?q=1&r=%20x', { method: 'DELETE' });
        expect(response.body.toString()).toBe('DELETE /url?q=1&r=%20x');
      });

      for (const status of [201, 204, 304, 404, 418, 503]) {
        it(`sends status ${status} with its reason phrase${status === 204 || status === 304 ? ' and no body' : ''}`, async () => {
          const response = await request(address, `/status/${status}`);
          expect(response.status).toBe(status);
          expect(response.statusText).toBe((await import('node:http')).STATUS_CODES[status]);
          expect(response.body.toString()).toBe(status === 204 || status === 304 ? '' : `status ${status}`);
        });
      }

      it('answers HEAD with the headers of GET and no body', async () => {
        const get = await request(address, '/');
        // Keep-alive: the HEAD response must end with its headers, whatever length it announces.
        const head = await responseHead(address, 'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n');
        expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
        const lower = head.toLowerCase();
        expect(lower).toContain(`content-type: ${get.headers['content-type']}\r\n`);
        expect(get.headers['content-length']).toBe(String(Buffer.byteLength(HELLO)));
        expect(lower).toContain(`content-length: ${get.headers['content-length']}\r\n`);
        expect(lower.match(/\r\ncontent-length:/g)).toHaveLength(1);
        expect(head.indexOf('\r\n\r\n')).toBe(head.length - 4); // nothing after the headers
      });

      it('sends no Content-Length with a 204', async () => {
        const head = await responseHead(address, 'GET /status/204 HTTP/1.1\r\nHost: x\r\n\r\n');
        expect(head).toMatch(/^HTTP\/1\.1 204 No Content\r\n/);
        expect(head.toLowerCase()).not.toContain('content-length');
      });

      it('keeps multi-value headers apart: set-cookie lines stay separate, repeated request headers reach the app', async () => {
        const response = await request(address, '/headers', { headers: { 'x-multi-in': ['1', '2'] } });
        expect(response.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
        expect(response.headers['x-multi']).toBe('a, b');
        expect(JSON.parse(response.body.toString())).toEqual({ 'x-multi-in': '1, 2' });
      });

      it('reads a large request body sent with content-length', async () => {
        const body = randomBytes(8 * 1024 * 1024);
        const response = await request(address, '/digest', { method: 'POST', body });
        expect(JSON.parse(response.body.toString())).toEqual({ bytes: body.length, sha256: sha256(body) });
      });

      it('sends byte bodies whole and each its own, while others wait for clients that do not read yet', async () => {
        // A server may hold a body's bytes after the app returned (the client's socket is full) and reuse
        // buffers: one reused too early shows here as another response's bytes. Two clients pipeline
        // requests and read nothing for a while, one of them more than the kernel holds for it (8 MiB);
        // meanwhile others ask for the same sizes, a third of them pausing as they read.
        const sizes = [8 * 1024, 64 * 1024 + 1, 300 * 1024, 1024 * 1024];
        const bodyOf = (index: number, fill: number) => ({ size: sizes[index % sizes.length]!, fill });
        const batches = [24, 12].map((length, batch) => Array.from({ length }, (_, index) => bodyOf(index, 1 + 50 * batch + index)));
        const stalled = batches.map((batch) => {
          const requests = batch.map(({ size, fill }, index) => `GET /bytes?size=${size}&fill=${fill} HTTP/1.1\r\nHost: x\r\n${index === batch.length - 1 ? 'Connection: close\r\n' : ''}\r\n`);
          return rawExchange(address, requests.join(''), { stallMs: 400, encoding: null });
        });
        await new Promise((resolve) => setTimeout(resolve, 100)); // the stalled clients' sockets are full by now
        const agent = keepAliveAgent({ maxSockets: 8 });
        const others = await Promise.all(
          Array.from({ length: 48 }, (_, index) => {
            const { size, fill } = bodyOf(index, 101 + index);
            return request(address, `/bytes?size=${size}&fill=${fill}`, { agent, stallMs: index % 3 === 0 ? 50 : 0 }).then(({ body }) => ({ body, size, fill }));
          }),
        ).finally(() => agent.destroy());
        for (const [index, batch] of batches.entries()) {
          const bodies = completeBodies(await stalled[index]!);
          const expected = conformance.cutsStalledPipelines ? batch.slice(0, Math.max(8, bodies.length)) : batch;
          expect(bodies.map((body) => body.length)).toEqual(expected.map(({ size }) => size));
          for (const [at, { fill }] of expected.entries()) expect(bodies[at]!.every((byte) => byte === fill)).toBe(true);
        }
        for (const { body, size, fill } of others) {
          expect(body.length).toBe(size);
          expect(body.every((byte) => byte === fill)).toBe(true);
        }
      });

      it('streams a chunked request body back while it arrives', async () => {
        const chunks = Array.from({ length: 64 }, () => randomBytes(64 * 1024));
        const response = await request(address, '/echo', {
          method: 'POST',
          headers: { 'content-type': 'application/x-test' },
          body: chunks,
        });
        expect(response.status).toBe(200);
        expect(response.headers['content-type']).toBe('application/x-test');
        expect(sha256(response.body)).toBe(sha256(Buffer.concat(chunks)));
      });

      it('goes on with a keep-alive connection after a request body the app did not read', async () => {
        const agent = keepAliveAgent({ maxSockets: 1 });
        try {
          const ignored = await request(address, '/ignore-body', { method: 'POST', body: randomBytes(256 * 1024), agent });
          expect(ignored.body.toString()).toBe('ignored');
          const next = await request(address, '/url?next', { agent });
          expect(next.body.toString()).toBe('GET /url?next');
        } finally {
          agent.destroy();
        }
      });

      it('parses a JSON request body', async () => {
        const response = await request(address, '/json', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ hello: ['wörld', 1] }),
        });
        expect(JSON.parse(response.body.toString())).toEqual({ received: { hello: ['wörld', 1] } });
      });

      it('streams a response: the first chunk reaches the client before the app writes the last', async () => {
        const received = await new Promise<string>((resolve, reject) => {
          const where = address.type === 'tcp' ? { host: address.host, port: address.port } : { socketPath: address.path };
          clientRequest({ ...where, path: '/stream', agent: false }, (res) => {
            let text = '';
            expect(res.headers['transfer-encoding']).toBe('chunked');
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              // The app writes its second chunk only after this release: a server that buffers the whole
              // response never gets here, and the test times out.
              if (text === '' && chunk === 'one\n') fixtures.events.emit('release');
              text += chunk;
            });
            res.on('end', () => resolve(text));
            res.on('error', reject);
          })
            .on('error', reject)
            .end();
        });
        expect(received).toBe('one\ntwo\n');
      });

      it('sends the headers of a streamed response before its first chunk (server-sent events)', async () => {
        const received = await new Promise<string>((resolve, reject) => {
          const where = address.type === 'tcp' ? { host: address.host, port: address.port } : { socketPath: address.path };
          clientRequest({ ...where, path: '/events', agent: false }, (res) => {
            // The app sends its first event only after this release: a server that holds the headers
            // back until the first chunk never gets here, and the test times out.
            expect(res.headers['content-type']).toBe('text/event-stream');
            fixtures.events.emit('release');
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve(text));
            res.on('error', reject);
          })
            .on('error', reject)
            .end();
        });
        // A server may send comment lines (`:…`), which SSE clients skip (uws does, to send the headers).
        expect(received.replace(/^:.*\n/gm, '')).toBe('data: one\n\n');
      });

      it('serves several requests on one keep-alive connection', async () => {
        const agent = keepAliveAgent({ maxSockets: 1 });
        try {
          const first = await request(address, '/', { agent });
          const second = await request(address, '/url?again', { agent });
          expect([first.status, second.status]).toEqual([200, 200]);
          expect(second.reusedSocket).toBe(true);
          expect(second.body.toString()).toBe('GET /url?again');
        } finally {
          agent.destroy();
        }
      });

      it('stops the app when the client aborts mid-response, and keeps serving', async () => {
        const aborted = once(fixtures.events, 'aborted');
        await new Promise<void>((resolve, reject) => {
          const where = address.type === 'tcp' ? { host: address.host, port: address.port } : { socketPath: address.path };
          const req = clientRequest({ ...where, path: '/forever', agent: false }, (res) => {
            res.once('data', () => {
              req.destroy();
              resolve();
            });
          });
          req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
          req.end();
        });
        await aborted;
        expect((await request(address, '/')).status).toBe(200);
      });

      test('fetch apps: a malformed Host header is refused, an empty one falls back to the server address', async (context) => {
        if (kind !== 'fetch' || !serves()) context.skip('node apps read the Host header themselves');
        const evil = await rawExchange(address, 'GET /public HTTP/1.1\r\nHost: evil/admin#\r\nConnection: close\r\n\r\n');
        expect(evil).toMatch(/^(HTTP\/1\.1 400 [^]*)?$/); // 400, or closed with no answer (RFC 9112 §3.2)
        const empty = await rawExchange(address, 'GET /url?x HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n');
        expect(empty).toMatch(/^HTTP\/1\.1 200 /);
        expect(empty.endsWith('GET /url?x')).toBe(true);
      });

      for (const route of ['/throw', '/reject']) {
        it(`answers 500 when the app ${route === '/throw' ? 'throws' : 'rejects'}, logs it, and keeps serving`, async () => {
          const before = logger.errors.length;
          const response = await request(address, route);
          expect(response.status).toBe(500);
          expect(response.body.toString()).not.toContain('secret-internal-detail');
          expect(logger.errors.length).toBe(before + 1);
          expect(String((logger.errors.at(-1)?.err as Error | undefined)?.message)).toContain('secret-internal-detail');
          expect((await request(address, '/')).status).toBe(200);
        });
      }
    });

    describe.each(APP_KINDS)('access log and proxy headers, %s app', (kind) => {
      const serveWith = async (options: Pick<StartOptions, 'accessLog' | 'trustedProxies'>) => {
        const fixtures = createFixtureApps();
        const server = await startServer({ app: fixtures[kind], backend, targets: [loopback()], logger: recordingLogger(), backendOptions: conformance.backendOptions, ...options });
        return { server, address: server.listening[0]!.bound };
      };

      test('one access entry per response, with method, target, status, bytes, referer and user agent', async (context) => {
        if (!backend.appKinds.includes(kind)) context.skip(`the ${backend.name} backend does not serve ${kind} apps`);
        const entries: AccessEntry[] = [];
        const { server, address } = await serveWith({ accessLog: (entry) => entries.push(entry) });
        try {
          await request(address, '/?a=1', { headers: { referer: 'http://example.com/', 'user-agent': 'kit/1.0' } });
          await request(address, '/status/404');
          for (let attempt = 0; attempt < 100 && entries.length < 2; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
          expect(entries).toHaveLength(2);
          expect(entries[0]).toMatchObject({
            remoteAddress: '127.0.0.1', method: 'GET', url: '/?a=1', httpVersion: '1.1', status: 200,
            bytes: Buffer.byteLength(HELLO), referer: 'http://example.com/', userAgent: 'kit/1.0', aborted: false,
          });
          expect(entries[0]!.durationMs).toBeGreaterThanOrEqual(0);
          expect(entries[1]).toMatchObject({ url: '/status/404', status: 404 });
        } finally {
          await server.close(1000);
        }
      });

      test('X-Forwarded-For gives the client address only when the peer is a trusted proxy', async (context) => {
        if (!backend.appKinds.includes(kind)) context.skip(`the ${backend.name} backend does not serve ${kind} apps`);
        const entries: AccessEntry[] = [];
        const trusted = await serveWith({ accessLog: (entry) => entries.push(entry), trustedProxies: { all: false, addresses: new Set(['127.0.0.1']) } });
        const untrusted = await serveWith({ trustedProxies: { all: false, addresses: new Set(['192.0.2.1']) } });
        try {
          const forwarded = { 'x-forwarded-for': '198.51.100.9, 203.0.113.7' };
          expect((await request(trusted.address, '/ip', { headers: forwarded })).body.toString()).toBe('203.0.113.7');
          expect((await request(trusted.address, '/ip')).body.toString()).toBe('127.0.0.1');
          expect((await request(untrusted.address, '/ip', { headers: forwarded })).body.toString()).toBe('127.0.0.1');
          for (let attempt = 0; attempt < 100 && entries.length < 2; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
          expect(entries.map((entry) => entry.remoteAddress)).toEqual(['203.0.113.7', '127.0.0.1']);
        } finally {
          await Promise.all([trusted.server.close(1000), untrusted.server.close(1000)]);
        }
      });
    });

    describe('listening', () => {
      const withServer = async (target: ListenTarget, check: (server: RunningServer) => Promise<void>) => {
        const fixtures = createFixtureApps();
        const server = await startServer({ app: appFor(backend, fixtures), backend, targets: [target], logger: recordingLogger(), backendOptions: options.backendOptions });
        try {
          await check(server);
        } finally {
          await server.close(1000);
        }
      };

      test('on IPv6 loopback, reporting [::1] and the port', async (context) => {
        if (!(await hasIPv6Loopback())) context.skip('this machine has no IPv6 loopback (::1)');
        await withServer({ type: 'tcp', host: '::1', port: 0, backlog: 511 }, async (server) => {
          const { bound, address } = server.listening[0]!;
          expect(bound).toMatchObject({ type: 'tcp', host: '::1' });
          expect(address).toMatch(/^\[::1\]:\d+$/);
          expect((await request(bound, '/')).body.toString()).toBe(HELLO);
        });
      });

      test('on a unix socket, removing the socket file on close', async () => {
        const directory = mkdtempSync(join(tmpdir(), 'chaussette-kit-'));
        const path = join(directory, 'app.sock');
        try {
          await withServer({ type: 'unix', path, backlog: 511 }, async (server) => {
            expect(server.listening[0]!.address).toBe(`unix:${path}`);
            expect((await request({ type: 'unix', path }, '/')).body.toString()).toBe(HELLO);
          });
          expect(existsSync(path)).toBe(false);
        } finally {
          rmSync(directory, { recursive: true, force: true });
        }
      });

      test('not on a port another server holds, even one of its own kind: EADDRINUSE, not a shared port', async () => {
        const holder = await listeningServer();
        try {
          const port = (holder.address() as { port: number }).port;
          await expect(withServer(loopback(port), async () => {})).rejects.toThrow(`Cannot listen on 127.0.0.1:${port}: the address is already in use`);
        } finally {
          holder.close();
        }
        // Engines that set SO_REUSEPORT on their own (uSockets does, on a port asked by number) would
        // share a port with each other.
        const free = await listeningServer();
        const port = (free.address() as { port: number }).port;
        await new Promise((resolve) => free.close(resolve));
        await withServer(loopback(port), async () => {
          await expect(withServer(loopback(port), async () => {})).rejects.toThrow(`Cannot listen on 127.0.0.1:${port}: the address is already in use`);
        });
      });

      test('with peerCredentials, on a unix socket: the app sees the client\'s pid, uid and gid (if the backend supports it)', async (context) => {
        if (!backend.supports?.peerCredentials) context.skip(`the ${backend.name} backend does not list peerCredentials in supports`);
        const directory = mkdtempSync(join(tmpdir(), 'chaussette-kit-'));
        const path = join(directory, 'app.sock');
        try {
          for (const kind of backend.appKinds) {
            const server = await startServer({ app: createFixtureApps()[kind], backend, targets: [{ type: 'unix', path, backlog: 511 }], logger: recordingLogger(), backendOptions: options.backendOptions, peerCredentials: true });
            try {
              // This process is the client.
              const response = await request({ type: 'unix', path }, '/peer-credentials');
              expect(JSON.parse(response.body.toString())).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
            } finally {
              await server.close(1000);
            }
          }
        } finally {
          rmSync(directory, { recursive: true, force: true });
        }
      });

      test('on an inherited fd in a child process, finishing an in-flight request on SIGTERM', async () => {
        const parent = await listeningServer();
        const port = (parent.address() as { port: number }).port;
        const child = spawn(
          process.execPath,
          [
            fileURLToPath(new URL('./fd-child.js', import.meta.url)),
            options.backend,
            JSON.stringify(searchFrom),
            appFor(backend, undefined),
            JSON.stringify(options.backendOptions ?? {}),
          ],
          { stdio: ['ignore', 'pipe', 'inherit', socketFd(parent)] },
        );
        parent.close(); // the child holds its own copy of the socket
        try {
          const lines = lineReader(child.stdout!);
          expect(await lines.next()).toBe(`listening fd://3 (127.0.0.1:${port})`);
          const bound: BoundAddress = { type: 'tcp', host: '127.0.0.1', port };
          expect((await request(bound, '/')).body.toString()).toBe(HELLO);
          const slow = request(bound, '/slow?ms=400');
          expect(await lines.next()).toBe('slow-started');
          child.kill('SIGTERM');
          const response = await slow;
          expect(response.status).toBe(200);
          expect(response.body.toString()).toBe('slow done');
          expect(await exitCode(child)).toBe(0);
        } finally {
          child.kill('SIGKILL');
        }
      });
    });

    describeHardening(() => backend, options, options.backendOptions);
    describeFraming(() => backend, options.backendOptions);
    describeNodeCompat(() => backend, options.backendOptions);
    describeBodies(() => backend, options.backendOptions);
    describeWebSockets(() => backend, options.backendOptions);

    describeDraining(() => backend, { backend: options.backend, searchFrom, backendOptions: options.backendOptions });

    describe('graceful close', () => {
      test('refuses new connections, finishes the in-flight request, closes idle keep-alive connections', async () => {
        const fixtures = createFixtureApps();
        const server = await startServer({ app: appFor(backend, fixtures), backend, targets: [loopback()], logger: recordingLogger(), backendOptions: options.backendOptions });
        const address = server.listening[0]!.bound;
        const agent = keepAliveAgent({ maxSockets: 1 });
        const idle = await request(address, '/', { agent });
        expect(idle.status).toBe(200);
        const idleClosed = new Promise((resolve) => Object.values(agent.freeSockets).flat()[0]?.once('close', resolve));

        const started = once(fixtures.events, 'slow-started');
        const slowAgent = keepAliveAgent();
        const slow = request(address, '/slow?ms=300', { agent: slowAgent });
        await started;
        const closed = server.close(10_000);
        expect(await canConnect(address)).toBe(false);
        const response = await slow;
        expect(response.status).toBe(200);
        expect(response.body.toString()).toBe('slow done');
        expect(response.headers.connection).toBe('close'); // the client will not reuse a closing connection
        await idleClosed;
        await closed; // well before the 10 s deadline: nothing is left open
        agent.destroy();
        slowAgent.destroy();
      });

      test("closes a request that outlives the timeout, then runs the app's close hook once", async () => {
        const fixtures = createFixtureApps();
        const server = await startServer({ app: appFor(backend, fixtures), backend, targets: [loopback()], logger: recordingLogger(), backendOptions: options.backendOptions });
        const address = server.listening[0]!.bound;
        let appCloses = 0;
        fixtures.events.on('app-closed', () => appCloses++);
        const started = once(fixtures.events, 'slow-started');
        const endless = request(address, '/slow?ms=60000').then(
          () => 'answered',
          () => 'cut',
        );
        await started;
        await Promise.all([server.close(200), server.close(200)]);
        expect(await endless).toBe('cut');
        expect(appCloses).toBe(1);
      });

      test("the backend's close() may be called twice, and both calls resolve", async () => {
        const fixtures = createFixtureApps();
        const handle = await backend.serve(appFor(backend, fixtures), loopback(), { logger: recordingLogger(), backendOptions: options.backendOptions });
        const results = await Promise.allSettled([handle.close(200), handle.close(200)]);
        expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled']);
        expect(await canConnect(handle.address)).toBe(false);
      });
    });
  });
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}



async function hasIPv6Loopback(): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}

/** Sends raw bytes and returns everything the server sends until it closes the connection. */
/** Sends one request on a keep-alive connection; resolves with all that arrives within 200 ms of the response head. */
async function responseHead(address: BoundAddress, data: string): Promise<string> {
  const socket = await openSocket(address);
  try {
    socket.write(data);
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    while (!text.includes('\r\n\r\n')) await once(socket, 'data');
    await new Promise((resolve) => setTimeout(resolve, 200));
    return text;
  } finally {
    socket.destroy();
  }
}

/**
 * Sends requests, the last saying `Connection: close`, and reads until the server closes; `stallMs`:
 * the client reads nothing for that long first.
 */
async function rawExchange(address: BoundAddress, data: string): Promise<string>;
async function rawExchange(address: BoundAddress, data: string, options: { stallMs: number; encoding: null }): Promise<Buffer>;
async function rawExchange(address: BoundAddress, data: string, options?: { stallMs: number; encoding: null }): Promise<string | Buffer> {
  const socket = await openSocket(address);
  socket.pause();
  socket.write(data);
  if (options) await new Promise((resolve) => setTimeout(resolve, options.stallMs));
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  return options ? bytes : bytes.toString('latin1');
}

/** The bodies of the complete responses, each with a Content-Length, that `bytes` begins with. */
function completeBodies(bytes: Buffer): Buffer[] {
  const bodies: Buffer[] = [];
  for (let at = 0; ; ) {
    const headEnd = bytes.indexOf('\r\n\r\n', at);
    if (headEnd === -1) return bodies;
    const length = /\r\ncontent-length: *(\d+)/i.exec(bytes.subarray(at, headEnd).toString('latin1'))?.[1];
    if (length === undefined) throw new Error(`No Content-Length in the response at byte ${at}`);
    const end = headEnd + 4 + Number(length);
    if (end > bytes.length) return bodies;
    bodies.push(bytes.subarray(headEnd + 4, end));
    at = end;
  }
}


