// One test per undocumented member of node:http that node-internals.ts reads, named after it: run on
// every Node version CI runs, so a release that changes one fails here, saying which.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { fstatSync } from 'node:fs';
import { afterEach, expect, test } from 'vitest';
import { headAsSent, headWritten, interceptBodyChunks, parsesHttp, rawSocketOf, requestBeingParsed, responseUnderWay, socketFd } from './node-internals.js';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { makeTestCertificates } from '@chaussette/testkit';

let server: Server | undefined;
let client: Socket | undefined;
afterEach(() => {
  client?.destroy();
  server?.closeAllConnections();
  server?.close();
});

/** A server whose listener is `onRequest`, and a raw client connected to it. */
async function serve(onRequest: (req: IncomingMessage, res: ServerResponse) => void): Promise<Socket> {
  server = createServer(onRequest);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  client = connect((server.address() as { port: number }).port, '127.0.0.1');
  await once(client, 'connect');
  client.resume();
  return client;
}

test('socket._httpMessage: the response under way on the connection, none once it finished', async () => {
  const seen: { during?: boolean; after?: unknown } = {};
  const finished = new Promise<void>((resolve) => {
    void serve((req, res) => {
      seen.during = responseUnderWay(req.socket) === res;
      res.end('ok', () => setImmediate(() => ((seen.after = responseUnderWay(req.socket)), resolve())));
    }).then((socket) => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  });
  await finished;
  expect(seen).toEqual({ during: true, after: null });
});

test('res._headerSent: false after writeHead() until the head is written, true after', async () => {
  const seen: boolean[] = [];
  await new Promise<void>((resolve) => {
    void serve((_req, res) => {
      res.writeHead(200, { 'content-length': '2' });
      seen.push(res.headersSent, headWritten(res));
      res.end('ok', () => (seen.push(headWritten(res)), resolve()));
    }).then((socket) => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  });
  expect(seen).toEqual([true, false, true]);
});

test('res._header: the head as written, with the headers given to writeHead()', async () => {
  let head: string | undefined;
  await new Promise<void>((resolve) => {
    void serve((_req, res) => {
      res.writeHead(201, { 'x-given': 'to writeHead', 'content-length': '0' });
      res.end(() => ((head = headAsSent(res)), resolve()));
    }).then((socket) => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  });
  expect(head).toMatch(/^HTTP\/1\.1 201 Created\r\n/);
  expect(head).toMatch(/\r\nx-given: to writeHead\r\n/);
  expect(head).toMatch(/\r\ncontent-length: 0\r\n/i);
});

test('socket.parser and parser.incoming: the request read now, its body still arriving; no parser after an upgrade', async () => {
  const seen: { parses?: boolean; incoming?: boolean; complete?: boolean; upgraded?: boolean } = {};
  await new Promise<void>((resolve) => {
    void serve((req, res) => {
      seen.parses = parsesHttp(req.socket);
      seen.incoming = requestBeingParsed(req.socket) === req;
      seen.complete = requestBeingParsed(req.socket)?.complete;
      res.end('ok');
      req.resume();
    }).then((socket) => {
      server!.on('upgrade', (_req, upgraded: Socket) => {
        seen.upgraded = parsesHttp(upgraded);
        upgraded.destroy();
        resolve();
      });
      socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345');
      setTimeout(() => socket.write('67890GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: test\r\n\r\n'), 50);
    });
  });
  expect(seen).toEqual({ parses: true, incoming: true, complete: false, upgraded: false });
});

test('socket._handle.fd: the descriptor of the connection', async () => {
  let fd: number | undefined;
  await new Promise<void>((resolve) => {
    void serve((req, res) => {
      fd = socketFd(req.socket);
      res.end('ok', () => resolve());
    }).then((socket) => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  });
  expect(fd).toBeGreaterThan(2);
  expect(fstatSync(fd!).isSocket()).toBe(true);
});

test("req.push(): node:http's parser hands each chunk of the body to it, and a false return stops the body", async () => {
  const chunks: string[] = [];
  let body = '';
  await new Promise<void>((resolve) => {
    void serve((req, res) => {
      interceptBodyChunks(req, (chunk) => (chunks.push(chunk.toString()), chunks.length < 2));
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      setTimeout(() => (res.end('ok'), resolve()), 200);
    }).then((socket) => {
      socket.write('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\none\r\n');
      setTimeout(() => socket.write('3\r\ntwo\r\n'), 30);
      setTimeout(() => socket.write('5\r\nthree\r\n0\r\n\r\n'), 60);
    });
  });
  expect(chunks).toEqual(['one', 'two']);
  expect(body).toBe('one');
});

test("req.push: node:http2's compatibility request gets each DATA frame's bytes through it too", async () => {
  const { createServer: createHttp2Server, connect: connectHttp2 } = await import('node:http2');
  const chunks: string[] = [];
  let body = '';
  const http2Server = createHttp2Server((req, res) => {
    interceptBodyChunks(req as unknown as IncomingMessage, (chunk) => (chunks.push(chunk.toString()), chunks.length < 2));
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    setTimeout(() => res.end('ok'), 200);
  });
  http2Server.listen(0, '127.0.0.1');
  await once(http2Server, 'listening');
  const session = connectHttp2(`http://127.0.0.1:${(http2Server.address() as { port: number }).port}`);
  const stream = session.request({ ':method': 'POST', ':path': '/' });
  stream.write('one');
  setTimeout(() => stream.write('two'), 30);
  setTimeout(() => stream.end('three'), 60);
  stream.resume();
  await new Promise((resolve) => stream.once('close', resolve));
  session.destroy();
  http2Server.close();
  expect(chunks).toEqual(['one', 'two']);
  expect(body).toBe('one');
});

test('tlsSocket._parent: the TCP socket a TLS server socket reads from', async () => {
  const { localhost, directory } = makeTestCertificates();
  const tlsServer = createTlsServer({ cert: localhost.cert, key: localhost.key });
  let raw: Socket | undefined;
  tlsServer.on('connection', (socket: Socket) => (raw = socket));
  const secured = once(tlsServer, 'secureConnection');
  tlsServer.listen(0, '127.0.0.1');
  await once(tlsServer, 'listening');
  const tlsClient = tlsConnect({ port: (tlsServer.address() as { port: number }).port, host: '127.0.0.1', rejectUnauthorized: false });
  tlsClient.on('error', () => {});
  const [socket] = (await secured) as [Socket];
  expect(rawSocketOf(socket)).toBe(raw);
  expect(rawSocketOf(raw!)).toBeUndefined();
  tlsClient.destroy();
  socket.destroy();
  tlsServer.close();
  (await import('node:fs')).rmSync(directory, { recursive: true, force: true });
});
