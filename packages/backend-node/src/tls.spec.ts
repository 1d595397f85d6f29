import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect as http2Connect, constants, type ClientHttp2Session } from 'node:http2';
import { Agent, request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type BoundAddress, type ClientCertificates, detectApp, loadTls, type RunningServer, startServer, type TlsSettings } from '@chaussette/core';
import { h2Request as kitH2Request, makeTestCertificates, recordingLogger } from '@chaussette/testkit';
import { afterEach, describe, expect, test } from 'vitest';
import nodeBackend from './index.js';

const certificates = makeTestCertificates();
const { ca, localhost, otherNames, client, strangerClient } = certificates;
const run = promisify(execFile);

// The protocol, whether the client's certificate verified, and its subject: what a node app reads of TLS.
function nodeApp(req: IncomingMessage, res: ServerResponse) {
  const socket = req.socket as TLSSocket;
  if (req.url === '/slow') return void setTimeout(() => res.end('slow done'), 400);
  const subject = socket.getPeerCertificate?.()?.subject?.CN ?? '-';
  res.end(`${req.httpVersion} ${String(socket.authorized ?? '-')} ${subject}`);
}

const tlsFor = (clientCertificates: ClientCertificates = 'none', pairs = [localhost, otherNames], http2 = true) =>
  loadTls({ certFiles: pairs.map((pair) => pair.certFile), keyFiles: pairs.map((pair) => pair.keyFile), caFile: ca.certFile, clientCertificates, http2 });

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close(1000);
  server = undefined;
});

async function serve(options: { tls?: TlsSettings; h2c?: boolean; target?: { type: 'unix'; path: string } } = {}): Promise<BoundAddress> {
  const app = detectApp(nodeApp, 'test app', { backend: nodeBackend });
  const target = options.target ?? { type: 'tcp' as const, host: '127.0.0.1', port: 0 };
  server = await startServer({ app, backend: nodeBackend, targets: [{ ...target, backlog: 511 }], logger: recordingLogger(), tls: options.tls, h2c: options.h2c });
  return server.listening[0]!.bound;
}

const portOf = (address: BoundAddress) => (address.type === 'tcp' ? address.port : 0);

/** A TLS handshake to 127.0.0.1: the socket once it is done, or the error that ended it. */
function handshake(address: BoundAddress, options: ConnectionOptions = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: portOf(address), ca: ca.cert, servername: 'localhost', ...options });
    socket.once('secureConnect', () => {
      // TLS 1.3 sends the server's refusal of a client certificate after the client's Finished.
      socket.once('data', () => resolve(socket)).once('error', reject).once('end', () => reject(new Error('closed by the server')));
      socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    socket.once('error', reject);
  });
}

function get(address: BoundAddress, path = '/', options: { agent?: Agent | false } & ConnectionOptions = {}): Promise<{ status: number; body: string; socket: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: portOf(address), path, ca: ca.cert, servername: 'localhost', agent: false, ...options }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body, socket: res.socket }));
    });
    req.on('error', reject).end();
  });
}

/** GET `path` on `session`: its status and body; rejects when no response came. */
async function h2Request(session: ClientHttp2Session, path = '/'): Promise<{ status: number; body: string }> {
  const { status, body, error } = await kitH2Request(session, { ':path': path });
  if (status === undefined) throw error ?? new Error(`no response to ${path}`);
  return { status, body: body.toString() };
}

async function h2Get(authority: string, path = '/', options: Parameters<typeof http2Connect>[1] = {}) {
  // The session's own error (a server that does not speak HTTP/2) fails the stream too: the request rejects.
  const session = http2Connect(authority, { ca: ca.cert, servername: 'localhost', ...options }).on('error', () => {});
  try {
    return await h2Request(session, path);
  } finally {
    session.close();
  }
}

describe('TLS on the node backend', () => {
  test('TLS 1.0 and 1.1 are refused, and so is a suite without forward secrecy', async () => {
    const address = await serve({ tls: await tlsFor() });
    const weak = { ciphers: 'DEFAULT@SECLEVEL=0' };
    await expect(handshake(address, { ...weak, minVersion: 'TLSv1', maxVersion: 'TLSv1' })).rejects.toThrow();
    await expect(handshake(address, { ...weak, minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1' })).rejects.toThrow();
    await expect(handshake(address, { maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256' })).rejects.toThrow();
    const served = await handshake(address, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
    expect(served.getProtocol()).toBe('TLSv1.2');
    served.destroy();
  });

  test('ALPN offers h2 beside http/1.1, and both are served; --no-http2 offers http/1.1 only', async () => {
    const address = await serve({ tls: await tlsFor() });
    for (const protocol of ['h2', 'http/1.1']) {
      const socket = await handshake(address, { ALPNProtocols: [protocol] });
      expect(socket.alpnProtocol).toBe(protocol);
      socket.destroy();
    }
    expect(await h2Get(`https://127.0.0.1:${portOf(address)}`)).toEqual({ status: 200, body: '2.0 false -' });
    expect((await get(address)).body).toBe('1.1 false -');
    await server!.close(1000);
    const http1Only = await serve({ tls: await tlsFor('none', [localhost], false) });
    const socket = await handshake(http1Only, { ALPNProtocols: ['h2', 'http/1.1'] });
    expect(socket.alpnProtocol).toBe('http/1.1');
    socket.destroy();
  });

  test('SNI picks the certificate for the name, the first one otherwise, with h2 by ALPN either way', async () => {
    const address = await serve({ tls: await tlsFor() });
    const subjectFor = async (servername: string) => {
      const socket = await handshake(address, { servername, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined });
      const { subject } = socket.getPeerX509Certificate()!;
      expect(socket.alpnProtocol).toBe('h2');
      socket.destroy();
      return subject;
    };
    expect(await subjectFor('a.sni.test')).toBe('CN=sni.test');
    expect(await subjectFor('sni.test')).toBe('CN=sni.test');
    expect(await subjectFor('localhost')).toBe('CN=localhost');
    expect(await subjectFor('elsewhere.example')).toBe('CN=localhost');
  });

  test.each([
    ['none', undefined, '1.1 false -'],
    ['optional', undefined, '1.1 false -'],
    ['optional', client, '1.1 true client'],
    ['required', client, '1.1 true client'],
  ] as const)('client certificates %s, the client presenting %s: served', async (clientCertificates, presented, expected) => {
    const address = await serve({ tls: await tlsFor(clientCertificates) });
    const body = (await get(address, '/', presented ? { cert: presented.cert, key: presented.key } : {})).body;
    expect(body).toBe(expected);
  });

  test('client certificates required: a client without one, or with a stranger’s, fails the handshake', async () => {
    const address = await serve({ tls: await tlsFor('required') });
    await expect(get(address)).rejects.toThrow();
    await expect(get(address, '/', { cert: strangerClient.cert, key: strangerClient.key })).rejects.toThrow();
    const h2 = http2Connect(`https://127.0.0.1:${portOf(address)}`, { ca: ca.cert, servername: 'localhost', cert: client.cert, key: client.key });
    expect(await h2Request(h2)).toEqual({ status: 200, body: '2.0 true client' });
    h2.close();
  });

  test('updateTls: a new handshake gets the new certificate; a keep-alive connection opened before keeps working', async () => {
    const address = await serve({ tls: await tlsFor('none', [localhost]) });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = await get(address, '/', { agent });
    server!.updateTls(await tlsFor('none', [otherNames, localhost]));
    const socket = await handshake(address, { servername: 'localhost.example', checkServerIdentity: () => undefined });
    expect(socket.getPeerX509Certificate()!.subject).toBe('CN=sni.test');
    socket.destroy();
    const after = await get(address, '/', { agent });
    expect(after.socket).toBe(before.socket);
    expect(after.body).toBe('1.1 false -');
    agent.destroy();
  });

  test('curl: --http2 over TLS, and openssl s_client negotiates h2', async () => {
    const address = await serve({ tls: await tlsFor() });
    const url = `https://localhost:${portOf(address)}/`;
    const curl = await run('curl', ['-sS', '--http2', '--cacert', ca.certFile, '--resolve', `localhost:${portOf(address)}:127.0.0.1`, '-w', ' %{http_version}', url]);
    expect(curl.stdout).toBe('2.0 false - 2');
    const sClient = await run('sh', ['-c', `openssl s_client -connect 127.0.0.1:${portOf(address)} -alpn h2 -servername localhost -CAfile ${ca.certFile} </dev/null`]);
    expect(sClient.stdout).toContain('ALPN protocol: h2');
    expect(sClient.stdout).toContain('Verify return code: 0 (ok)');
  });

  test('graceful close: a stream in flight completes, the session gets GOAWAY, close() resolves', async () => {
    const address = await serve({ tls: await tlsFor() });
    const session = http2Connect(`https://127.0.0.1:${portOf(address)}`, { ca: ca.cert, servername: 'localhost' });
    const goaway = once(session, 'goaway');
    const slow = h2Request(session, '/slow');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closed = server!.close(5000);
    const [code] = (await goaway) as [number];
    expect(code).toBe(constants.NGHTTP2_NO_ERROR);
    expect(await slow).toEqual({ status: 200, body: 'slow done' });
    await closed;
    server = undefined;
  });

  test('graceful close does not wait past the timeout for a session that keeps a stream open', async () => {
    const address = await serve({ tls: await tlsFor() });
    const session = http2Connect(`https://127.0.0.1:${portOf(address)}`, { ca: ca.cert, servername: 'localhost' });
    session.on('error', () => {});
    const stalled = session.request({ ':path': '/', ':method': 'POST' }); // its body never ends: the app never answers
    stalled.on('error', () => {});
    stalled.write('x');
    await once(session, 'connect');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await server!.close(300);
    expect(Date.now() - started).toBeLessThan(2000);
    server = undefined;
    session.destroy();
  });
});

describe('h2c: HTTP/2 with prior knowledge beside HTTP/1.1 on the same socket', () => {
  const plainGet = (address: BoundAddress) =>
    new Promise<string>((resolve, reject) => {
      const where = address.type === 'unix' ? { socketPath: address.path } : { host: address.host, port: address.port };
      httpRequest({ ...where, path: '/', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      })
        .on('error', reject)
        .end();
    });

  test('on TCP: node:http2 and curl --http2-prior-knowledge get HTTP/2, HTTP/1.1 clients HTTP/1.1', async () => {
    const address = await serve({ h2c: true });
    const authority = `http://127.0.0.1:${portOf(address)}`;
    expect(await h2Get(authority)).toEqual({ status: 200, body: '2.0 - -' });
    expect(await plainGet(address)).toBe('1.1 - -');
    const curl = await run('curl', ['-sS', '--http2-prior-knowledge', '-w', ' %{http_version}', `${authority}/`]);
    expect(curl.stdout).toBe('2.0 - - 2');
    const curl1 = await run('curl', ['-sS', '--http1.1', '-w', ' %{http_version}', `${authority}/`]);
    expect(curl1.stdout).toBe('1.1 - - 1.1');
  });

  test('on a unix socket', async () => {
    const path = join(tmpdir(), `chaussette-h2c-${process.pid}.sock`);
    const address = await serve({ h2c: true, target: { type: 'unix', path } });
    expect(await plainGet(address)).toBe('1.1 - -');
    const curl = await run('curl', ['-sS', '--http2-prior-knowledge', '--unix-socket', path, '-w', ' %{http_version}', 'http://localhost/']);
    expect(curl.stdout).toBe('2.0 - - 2');
  });

  test('without --h2c, the preface is no HTTP/1.1 request', async () => {
    const address = await serve();
    await expect(h2Get(`http://127.0.0.1:${portOf(address)}`)).rejects.toThrow();
  });

  test('graceful close: a stream in flight completes after GOAWAY, and an idle session is closed', async () => {
    const address = await serve({ h2c: true });
    const authority = `http://127.0.0.1:${portOf(address)}`;
    const busy = http2Connect(authority).on('error', () => {});
    const idle = http2Connect(authority).on('error', () => {});
    await h2Request(idle);
    const slow = h2Request(busy, '/slow');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const goaway = once(busy, 'goaway');
    const idleClosed = once(idle, 'close');
    const closed = server!.close(5000);
    await goaway;
    await idleClosed;
    expect(await slow).toEqual({ status: 200, body: 'slow done' });
    await closed;
    server = undefined;
  });
});

describe('an inherited fd', () => {
  test('TLS with h2 by ALPN, served by a child process on fd 3', async () => {
    const parent = createNetServer();
    await new Promise<void>((resolve) => parent.listen(0, '127.0.0.1', resolve));
    const port = (parent.address() as { port: number }).port;
    const fd = (parent as unknown as { _handle: { fd: number } })._handle.fd;
    const tlsRequest = { certFiles: [localhost.certFile], keyFiles: [localhost.keyFile] };
    const script = `
      import { inspectInheritedSocket, loadTls, startServer, detectApp } from '@chaussette/core';
      import nodeBackend from '@chaussette/backend-node';
      const app = detectApp((req, res) => res.end('fd ' + req.httpVersion), 'fd app', { backend: nodeBackend });
      const server = await startServer({ app, backend: nodeBackend, logger: console,
        targets: [{ type: 'fd', fd: 3, ...inspectInheritedSocket(3), backlog: 511 }], tls: await loadTls(${JSON.stringify(tlsRequest)}) });
      process.stdout.write('listening\\n');
      process.once('SIGTERM', () => server.close(1000).then(() => process.exit(0)));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit', fd], cwd: fileURLToPath(new URL('..', import.meta.url)) });
    parent.close(); // the child holds its own copy of the socket
    try {
      await once(child.stdout!, 'data');
      const address: BoundAddress = { type: 'tcp', host: '127.0.0.1', port };
      expect((await get(address)).body).toBe('fd 1.1');
      expect(await h2Get(`https://127.0.0.1:${port}`)).toEqual({ status: 200, body: 'fd 2.0' });
      child.kill('SIGTERM');
      expect((await once(child, 'exit'))[0]).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
