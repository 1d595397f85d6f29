// TLS on uWebSockets.js with real clients: node:https and node:tls, openssl s_client and curl.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions, type PeerCertificate, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { type App, type BoundAddress, type ClientCertificates, loadTls, type ListenTarget, type ServerHandle, type TlsSettings } from '@chaussette/core';
import { makeTestCertificates, recordingLogger, type TestCertificates } from '@chaussette/testkit';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { duplicateSocket } from './adopt-fd.js';
import backend from './index.js';
import { uwsUnavailableReason } from './uws.js';

const unavailable = uwsUnavailableReason();
beforeEach((context) => {
  if (unavailable) context.skip(unavailable);
});

let certs: TestCertificates;
beforeAll(() => {
  certs = makeTestCertificates();
});

const handles: ServerHandle[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((handle) => handle.close(200)));
});

const run = promisify(execFile);
const LOCAL: ListenTarget = { type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 };

function settings(pairs: (keyof TestCertificates)[] = ['localhost'], clientCertificates: ClientCertificates = 'none', ciphers?: string): Promise<TlsSettings> {
  const files = pairs.map((name) => certs[name] as { certFile: string; keyFile: string });
  return loadTls({
    certFiles: files.map(({ certFile }) => certFile),
    keyFiles: files.map(({ keyFile }) => keyFile),
    caFile: clientCertificates === 'none' ? undefined : certs.ca.certFile,
    clientCertificates,
    ciphers,
  });
}

async function serve(app: App, tls: TlsSettings, target: ListenTarget = LOCAL): Promise<ServerHandle> {
  const handle = await backend.serve(app, target, { logger: recordingLogger(), tls });
  handles.push(handle);
  return handle;
}

const portOf = (address: BoundAddress) => (address.type === 'tcp' ? address.port : 0);

/** The URL, the client certificate's subject and whether the connection is TLS, as a fetch app sees them. */
const fetchApp: App = {
  kind: 'fetch',
  description: 'tells what it sees',
  source: undefined,
  fetch: (request) => {
    const { peerCertificate } = request as Request & { peerCertificate?: { subject: string } };
    return Response.json({ url: request.url, peer: peerCertificate?.subject ?? null });
  },
};

const nodeApp: App = {
  kind: 'node',
  description: 'tells what its socket says',
  source: undefined,
  listener: (req, res) => {
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerCertificate() as PeerCertificate | Record<string, never>;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ encrypted: socket.encrypted, authorized: socket.authorized, peer: 'subject' in peer ? peer.subject.CN : null }));
  },
};

interface Answer {
  status: number;
  body: string;
  /** The server certificate the handshake gave. */
  served: PeerCertificate;
}

type ClientOptions = Pick<ConnectionOptions, 'servername' | 'cert' | 'key'> & { socketPath?: string; agent?: Agent; path?: string };

function get(address: BoundAddress, options: ClientOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const { socketPath, agent, path = '/', ...tls } = options;
    const where = socketPath ? { socketPath } : { host: '127.0.0.1', port: portOf(address) };
    const request = httpsRequest({ ...where, path, ca: certs.ca.cert, ...tls, agent: agent ?? false, headers: { host: tls.servername ?? 'localhost' } }, (response) => {
      const served = (response.socket as TLSSocket).getPeerCertificate();
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body, served }));
    });
    request.on('error', reject);
    request.end();
  });
}

/** Raw bytes over TLS, until the server closes or `waitMs` passes. */
function tlsWire(address: BoundAddress, wire: string | Buffer, waitMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: portOf(address), ca: certs.ca.cert, servername: 'localhost' }, () => socket.write(wire));
    let text = '';
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.on('error', reject);
  });
}

/** openssl s_client's summary of a handshake with these arguments (`Protocol`, `Cipher`, `ALPN` lines). */
async function sClient(port: number, ...args: string[]): Promise<string> {
  const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-CAfile', certs.ca.certFile, ...args]);
  child.stdin!.end();
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  await new Promise((resolve) => child.on('close', resolve));
  return output;
}

describe('uws serves TLS on every socket kind', () => {
  test('TCP: a fetch app gets https:// URLs, a node app an encrypted socket; an encrypted key opens with its password', async () => {
    const fetchServer = await serve(fetchApp, await settings());
    const answer = await get(fetchServer.address);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ url: 'https://localhost/', peer: null });

    const nodeServer = await serve(nodeApp, await settings());
    expect(JSON.parse((await get(nodeServer.address)).body)).toEqual({ encrypted: true, authorized: false, peer: null });

    const encrypted = await loadTls({ certFiles: [certs.encryptedKey.certFile], keyFiles: [certs.encryptedKey.keyFile], keyPassword: certs.encryptedKey.keyPassword });
    const withPassword = await serve(fetchApp, encrypted);
    expect((await get(withPassword.address)).status).toBe(200);
  });

  test('a unix socket', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'chaussette-uws-tls-')), 'tls.sock');
    const handle = await serve(fetchApp, await settings(), { type: 'unix', path, backlog: 511 });
    const answer = await get(handle.address, { socketPath: path });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).url).toBe('https://localhost/');
  });

  test('an inherited fd (as systemd and process managers hand one)', async () => {
    const inheritedFrom: Server = createServer();
    await new Promise<void>((resolve) => inheritedFrom.listen(0, '127.0.0.1', resolve));
    const { port } = inheritedFrom.address() as { port: number };
    const fd = duplicateSocket((inheritedFrom as unknown as { _handle: { fd: number } })._handle.fd);
    await new Promise((resolve) => inheritedFrom.close(resolve)); // the socket lives on in `fd`
    const handle = await serve(fetchApp, await settings(), { type: 'fd', fd, family: 'tcp', backlog: 511 });
    expect(handle.address).toEqual({ type: 'tcp', host: '127.0.0.1', port });
    expect((await get(handle.address)).status).toBe(200);
    handle.updateTls!(await settings(['otherNames', 'localhost']));
    expect((await get(handle.address, { servername: 'sni.test' })).served.subject.CN).toBe('sni.test');
  });

  test('an --ciphers that BoringSSL has none of is refused in one line', async () => {
    await expect(serve(fetchApp, await settings(['localhost'], 'none', 'DHE-RSA-AES128-GCM-SHA256'))).rejects.toThrow(
      /^uWebSockets\.js \(BoringSSL\) takes none of --ciphers "DHE-RSA-AES128-GCM-SHA256" for TLS 1\.2/,
    );
  });
});

describe('protocols, ciphers, ALPN', () => {
  test('TLS 1.0 and 1.1 are refused; TLS 1.2 only with forward-secret suites of --ciphers; TLS 1.3', async () => {
    const { address } = await serve(fetchApp, await settings());
    const port = portOf(address);
    expect(await sClient(port, '-tls1_1')).toMatch(/alert protocol version/);
    expect(await sClient(port, '-tls1')).toMatch(/alert protocol version/);
    expect(await sClient(port, '-tls1_2', '-cipher', 'AES128-SHA')).toMatch(/handshake failure/);
    expect(await sClient(port, '-tls1_2', '-cipher', 'AES128-GCM-SHA256')).toMatch(/handshake failure/);
    expect(await sClient(port, '-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA')).toMatch(/handshake failure/);
    expect(await sClient(port, '-tls1_2', '-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384')).toMatch(/Cipher is ECDHE-ECDSA-AES256-GCM-SHA384/);
    expect(await sClient(port, '-tls1_3')).toMatch(/New, TLSv1\.3, Cipher is TLS_AES_\d+_GCM_SHA\d+/);
  });

  test('no h2 by ALPN: curl --http2 gets HTTP/1.1', async () => {
    const { address } = await serve(fetchApp, await settings());
    const port = portOf(address);
    expect(await sClient(port, '-alpn', 'h2,http/1.1')).toMatch(/No ALPN negotiated/);
    const { stdout } = await run('curl', ['-s', '--http2', '--cacert', certs.ca.certFile, '-o', '/dev/null', '-w', '%{http_version} %{http_code}', `https://localhost:${port}/`]);
    expect(stdout).toBe('1.1 200');
  });
});

describe('SNI', () => {
  test('each certificate is served for its names, and requests for them reach the same app', async () => {
    const { address } = await serve(fetchApp, await settings(['localhost', 'otherNames']));
    const exact = await get(address, { servername: 'sni.test' });
    const wildcard = await get(address, { servername: 'a.sni.test' });
    const unknown = new Promise<PeerCertificate>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: portOf(address), servername: 'elsewhere.test', rejectUnauthorized: false }, () => {
        resolve(socket.getPeerCertificate());
        socket.end();
      });
      socket.on('error', reject);
    });
    expect([exact.status, exact.served.subject.CN, JSON.parse(exact.body).url]).toEqual([200, 'sni.test', 'https://sni.test/']);
    expect([wildcard.status, wildcard.served.subject.CN]).toEqual([200, 'sni.test']);
    expect((await get(address)).served.subject.CN).toBe('localhost');
    expect((await unknown).subject.CN).toBe('localhost');
  });
});

describe('client certificates', () => {
  const client = () => ({ cert: certs.client.cert, key: certs.client.key });
  const stranger = () => ({ cert: certs.strangerClient.cert, key: certs.strangerClient.key });

  test('required: a verified certificate reaches the app; none gets 400; one the CA did not sign fails the handshake', async () => {
    const { address } = await serve(fetchApp, await settings(['localhost'], 'required'));
    const verified = await get(address, client());
    expect([verified.status, JSON.parse(verified.body).peer]).toEqual([200, 'CN=client']);
    const without = await get(address);
    expect([without.status, without.body]).toEqual([400, 'Bad Request: no required TLS client certificate was sent\n']);
    await expect(get(address, stranger())).rejects.toThrow();
  });

  test('optional: with or without a certificate; node apps read it as node:tls gives it', async () => {
    const fetchServer = await serve(fetchApp, await settings(['localhost'], 'optional'));
    expect(JSON.parse((await get(fetchServer.address)).body).peer).toBeNull();
    expect(JSON.parse((await get(fetchServer.address, client())).body).peer).toBe('CN=client');
    const nodeServer = await serve(nodeApp, await settings(['localhost'], 'optional'));
    expect(JSON.parse((await get(nodeServer.address, client())).body)).toEqual({ encrypted: true, authorized: true, peer: 'client' });
    expect(JSON.parse((await get(nodeServer.address)).body)).toEqual({ encrypted: true, authorized: false, peer: null });
  });

  test('on a name picked by SNI too', async () => {
    const { address } = await serve(fetchApp, await settings(['localhost', 'otherNames'], 'required'));
    expect(JSON.parse((await get(address, { servername: 'sni.test', ...client() })).body).peer).toBe('CN=client');
    expect((await get(address, { servername: 'sni.test' })).status).toBe(400);
    await expect(get(address, { servername: 'sni.test', ...stranger() })).rejects.toThrow();
  });
});

describe('updateTls', () => {
  test('new handshakes get the new certificate, an open connection keeps its own', async () => {
    const handle = await serve(fetchApp, await settings(['localhost']));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = await get(handle.address, { agent, servername: 'localhost' });
    handle.updateTls!(await settings(['otherNames', 'localhost']));
    const kept = await get(handle.address, { agent, servername: 'localhost' });
    const fresh = await get(handle.address, { servername: 'sni.test' });
    agent.destroy();
    expect(before.served.subject.CN).toBe('localhost');
    expect(kept.served.fingerprint256).toBe(before.served.fingerprint256);
    expect([fresh.status, fresh.served.subject.CN]).toEqual([200, 'sni.test']);
    // With the first certificate now other-names, a handshake without SNI gets it.
    const noSni = await new Promise<PeerCertificate>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: portOf(handle.address), rejectUnauthorized: false }, () => {
        resolve(socket.getPeerCertificate());
        socket.end();
      });
      socket.on('error', reject);
    });
    expect(noSni.subject.CN).toBe('sni.test');
  });

  test('no request is lost while certificates change under load, and close() drains every app', async () => {
    const slow: App = {
      kind: 'fetch',
      description: 'answers after a while on /slow',
      source: undefined,
      fetch: async (request) => {
        if (request.url.endsWith('/slow')) await new Promise((resolve) => setTimeout(resolve, 400));
        return new Response('ok');
      },
    };
    const handle = await serve(slow, await settings(['localhost']));
    const counts = { ok: 0, failed: 0, errors: new Set<string>() };
    let running = true;
    const loop = async (agent: Agent | undefined) => {
      while (running) {
        try {
          const answer = await get(handle.address, { agent });
          if (answer.status === 200 && answer.body === 'ok') counts.ok++;
          else counts.failed++;
        } catch (error) {
          counts.failed++;
          counts.errors.add(String(error));
        }
      }
    };
    const keepAlive = Array.from({ length: 4 }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
    const loops = [...keepAlive.map(loop), loop(undefined), loop(undefined)];
    for (let renewal = 0; renewal < 10; renewal++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      handle.updateTls!(await settings(renewal % 2 ? ['localhost'] : ['localhost', 'otherNames']));
    }
    running = false;
    await Promise.all(loops);
    expect({ failed: counts.failed, errors: [...counts.errors] }).toEqual({ failed: 0, errors: [] });
    expect(counts.ok).toBeGreaterThan(100);

    // A slow request on a connection of a replaced app still gets its answer during close().
    const agent = keepAlive[0]!;
    await get(handle.address, { agent });
    handle.updateTls!(await settings(['localhost']));
    const inFlight = get(handle.address, { agent, path: '/slow' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await handle.close(2000);
    expect((await inFlight).body).toBe('ok');
    for (const each of keepAlive) each.destroy();
  }, 20_000);
});

describe('over TLS as over TCP', () => {
  test("the uws refusals: 411 for a chunked body, nothing served behind `Connection: close`", async () => {
    const { address } = await serve(fetchApp, await settings());
    const chunked = await tlsWire(address, 'POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
    expect(chunked).toMatch(/^HTTP\/1\.1 411 /);
    // As on TCP (known-failures.ts): uWS closes the connection on the request behind, so the client gets the close alone.
    const behindClose = await tlsWire(address, 'GET /first HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\nGET /second HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(behindClose).toBe('');
    const alone = await tlsWire(address, 'GET /first HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    expect(alone).toMatch(/^HTTP\/1\.1 200 [^]*"url":"https:\/\/localhost\/first"/);
  });

  test('wss: a WebSocket over TLS', async () => {
    const echo: App = {
      kind: 'fetch',
      description: 'WebSocket echo',
      source: undefined,
      fetch: (request, server) => (server.upgrade(request) ? undefined : new Response('no upgrade', { status: 400 })),
      websocket: { message: (ws, message) => ws.send(message) },
    };
    const { address } = await serve(echo, await settings());
    const mask = [0x11, 0x22, 0x33, 0x44];
    const payload = Buffer.from('hello over tls');
    const frame = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, ...mask]), payload.map((byte, index) => byte ^ mask[index % 4]!)]);
    const handshake = 'GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
    const text = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: portOf(address), ca: certs.ca.cert, servername: 'localhost' }, () => socket.write(handshake));
      let received = '';
      socket.on('data', (chunk: Buffer) => {
        if (!received.includes('\r\n\r\n') && (received + chunk.toString('latin1')).includes('\r\n\r\n')) socket.write(frame);
        received += chunk.toString('latin1');
        if (received.includes('hello over tls')) socket.destroy();
      });
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
      setTimeout(() => socket.destroy(), 2000);
    });
    expect(text).toMatch(/^HTTP\/1\.1 101 /);
    expect(text).toContain(`\x81${String.fromCharCode(payload.length)}hello over tls`);
  });
});
