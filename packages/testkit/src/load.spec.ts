// startLoad's TLS and HTTP/2 clients against a real chaussette server (core's startServer with the node
// backend's build), and against node:http2 servers that refuse streams or cut sessions: the rules of
// RFC 9113 §8.7 (what a client sends again, what it counts as lost) shown both ways.
import { once } from 'node:events';
import { constants, createSecureServer, type Http2SecureServer, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { type Backend, type BoundAddress, loadTls, resolveBackend, type RunningServer, startServer } from '@chaussette/core';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createFixtureApps } from './apps.js';
import { sharedTestCertificates } from './certificates.js';
import { type LoadOptions, type LoadResult, startLoad } from './load.js';

const certificates = sharedTestCertificates();
const tls = { ca: certificates.ca.cert };
const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };
const EVERY_KIND: LoadOptions = { newConnection: 2, keepAlive: 2, pipelined: 1, pipelineDepth: 4, h2: 2, h2Streams: 4 };

const closing: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(closing.splice(0).map((close) => close()));
});

function expectNothingLost(result: LoadResult): void {
  expect(result.errors).toEqual([]);
  expect(result.failed).toBe(0);
}

describe('against chaussette on the node backend', () => {
  let backend: Backend;
  beforeAll(async () => {
    // By path, not as a dependency: the node backend's own tests depend on this kit.
    backend = await resolveBackend(fileURLToPath(new URL('../../backend-node', import.meta.url)), { searchFrom: [] });
  });

  async function serve(transport: 'TLS' | 'h2c'): Promise<{ server: RunningServer; address: BoundAddress }> {
    const settings = transport === 'TLS' ? await loadTls({ certFiles: [certificates.localhost.certFile], keyFiles: [certificates.localhost.keyFile] }) : undefined;
    const server = await startServer({
      app: createFixtureApps().node,
      backend,
      targets: [{ type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 }],
      logger: quietLogger,
      tls: settings,
      h2c: transport === 'h2c',
    });
    closing.push(() => server.close(1_000));
    return { server, address: server.listening[0]!.bound };
  }

  test('over TLS every kind is served, h2 by ALPN, and nothing fails', async () => {
    const { address } = await serve('TLS');
    const load = startLoad(address, { ...EVERY_KIND, tls });
    await load.answered(400);
    const result = await load.stop();
    expectNothingLost(result);
    for (const kind of ['new-connection', 'keep-alive', 'pipelined', 'h2'] as const) expect(result.byKind[kind].ok, kind).toBeGreaterThan(0);
  });

  test('without TLS the h2 loops speak h2c with prior knowledge', async () => {
    const { address } = await serve('h2c');
    const load = startLoad(address, { h2: 2, keepAlive: 1 });
    await load.answered(200);
    const result = await load.stop();
    expectNothingLost(result);
    expect(result.byKind.h2.ok).toBeGreaterThan(0);
  });

  test('close() under TLS and h2 load: every session gets GOAWAY, the streams in flight are answered, nothing fails', async () => {
    const { server, address } = await serve('TLS');
    const quick = startLoad(address, { ...EVERY_KIND, tls });
    // Streams that are surely in flight when GOAWAY goes out: each takes 200 ms.
    const slow = startLoad(address, { h2: 2, h2Streams: 4, tls, path: '/slow?ms=200' });
    await quick.answered(300);
    // Sessions and connections the server never accepted are the kernel's to refuse: only those it holds are judged.
    quick.onlyKeptConnections();
    slow.onlyKeptConnections();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = server.close(10_000);
    const [quickResult, slowResult] = await Promise.all([quick.done, slow.done]);
    await closed;
    expectNothingLost(quickResult);
    expectNothingLost(slowResult);
    expect(quickResult.byKind.h2.ok).toBeGreaterThan(0);
    expect(slowResult.byKind.h2.ok).toBeGreaterThanOrEqual(8);
    expect(slowResult.closedByServer).toBe(2);
  }, 20_000);
});

describe('against node:http2 servers', () => {
  /** A TLS HTTP/2 server answering each stream with `answer`, and the TLS connections it holds. */
  async function h2Server(answer: (stream: ServerHttp2Stream, count: number, sockets: Set<TLSSocket>) => void): Promise<BoundAddress> {
    const server: Http2SecureServer = createSecureServer({ cert: certificates.localhost.cert, key: certificates.localhost.key });
    const sockets = new Set<TLSSocket>();
    server.on('secureConnection', (socket: TLSSocket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    let count = 0;
    server.on('stream', (stream) => {
      stream.on('error', () => {}); // the resets and cuts these servers make themselves
      answer(stream, ++count, sockets);
    });
    server.on('session', (session) => session.on('error', () => {}));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    closing.push(async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    });
    return { type: 'tcp', host: '127.0.0.1', port: (server.address() as AddressInfo).port };
  }
  const ok = (stream: ServerHttp2Stream) => {
    if (stream.destroyed) return; // its session was cut
    stream.respond({ ':status': 200 });
    stream.end('ok');
  };

  test('streams reset with REFUSED_STREAM are sent again: nothing fails', async () => {
    const address = await h2Server((stream, count) => (count % 5 === 0 ? stream.close(constants.NGHTTP2_REFUSED_STREAM) : ok(stream)));
    const load = startLoad(address, { h2: 2, tls });
    await load.answered(200);
    const result = await load.stop();
    expectNothingLost(result);
    expect(result.retried).toBeGreaterThanOrEqual(40);
  });

  test('GOAWAY naming an earlier stream as the last processed: the streams above it are sent again on a new session, nothing fails', async () => {
    // Every 50th stream is left unanswered, and GOAWAY says the one before it was the last processed.
    const address = await h2Server((stream, count) => {
      if (count % 50 === 0) stream.session!.goaway(constants.NGHTTP2_NO_ERROR, stream.id! - 2);
      else setTimeout(() => ok(stream), 2);
    });
    const load = startLoad(address, { h2: 1, h2Streams: 1, tls });
    await load.answered(200);
    const result = await load.stop();
    expectNothingLost(result);
    expect(result.retried).toBeGreaterThanOrEqual(3);
    expect(result.closedByServer).toBeGreaterThanOrEqual(3);
  });

  test('sessions destroyed without GOAWAY while streams are in flight: those requests are counted as failed', async () => {
    // The 100th and 200th streams: every connection cut, no GOAWAY, with that stream (and others) unanswered.
    const address = await h2Server((stream, count, sockets) => {
      if (count % 100 !== 0) return setTimeout(() => ok(stream), 2);
      for (const socket of sockets) socket.destroy();
    });
    const load = startLoad(address, { h2: 2, tls });
    await load.answered(300);
    const result = await load.stop();
    expect(result.byKind.h2.failed).toBeGreaterThanOrEqual(2);
    expect(result.errors[0]).toMatch(/^h2: stream \d+ unanswered: .*\(no GOAWAY\)$/);
  });
});
