// TLS from the command line: the flags checked before the app loads, serving on every backend, and
// SIGHUP re-reading renewed certificates while open connections keep theirs.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, writeFileSync } from 'node:fs';
import { connect as http2Connect } from 'node:http2';
import { Agent, request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { makeTestCertificates, type TestCertificates } from '@chaussette/testkit';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { expectOneLineError, killAll, runCli, skipUnlessServable, startCli } from './helpers.js';

let certificates: TestCertificates;
beforeAll(() => {
  certificates = makeTestCertificates();
});
afterEach(killAll);

const tlsFlags = (files = certificates.localhost) => ['--certfile', files.certFile, '--keyfile', files.keyFile];

interface TlsReply {
  status: number;
  body: string;
  /** The SHA-256 fingerprint of the certificate the server presented. */
  fingerprint: string;
  protocol: string | null;
}

/** GET / over TLS for `localhost`, on `agent`'s connections (a fresh one without), trusting `ca` (the test CA). */
function getOverTls(where: string, { agent, ca = certificates.ca.cert }: { agent?: Agent; ca?: string } = {}): Promise<TlsReply> {
  const port = Number(/:(\d+)\)?$/.exec(where)?.[1]); // `127.0.0.1:P`, or the reloader's `fd://3 (127.0.0.1:P)`
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, ca, agent: agent ?? false }, (res) => {
      const socket = res.socket as TLSSocket;
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      const protocol = socket.getProtocol();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fingerprint, protocol }));
    });
    req.on('error', reject);
    req.end();
  });
}

const fingerprintOf = (certFile: string) =>
  execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' }).trim().split('=')[1];

describe('bad TLS input: one clear line, before the app loads', () => {
  // The app does not exist: a TLS error instead of "Cannot find application" shows the check came first.
  test.each([
    ['a key that is not the certificate’s', () => ['--certfile', certificates.localhost.certFile, '--keyfile', certificates.otherNames.keyFile], /is not the key of --certfile/],
    ['a missing certificate file', () => ['--certfile', '/nonexistent/cert.pem', '--keyfile', certificates.localhost.keyFile], /Cannot read --certfile \/nonexistent\/cert\.pem: it does not exist/],
    ['--keyfile without --certfile', () => ['--keyfile', certificates.localhost.keyFile], /--keyfile needs --certfile/],
    ['a certificate without its key', () => ['--certfile', certificates.localhost.certFile], /Each --certfile needs its --keyfile/],
    ['an encrypted key without its password', () => ['--certfile', certificates.localhost.certFile, '--keyfile', certificates.encryptedKey.keyFile], /is encrypted: give its password in CHAUSSETTE_KEYFILE_PASSWORD/],
    ['--ca-certs without a certificate', () => ['--ca-certs', certificates.ca.certFile], /--ca-certs applies to TLS: give --certfile and --keyfile too/],
    ['--cert-reqs required without --ca-certs', () => [...tlsFlags(), '--cert-reqs', 'required'], /--cert-reqs required checks client certificates against --ca-certs/],
    ['an unknown --cert-reqs', () => [...tlsFlags(), '--cert-reqs', 'sometimes'], /Invalid --cert-reqs "sometimes" \(expected none, optional or required\)/],
    ['ciphers OpenSSL does not know', () => [...tlsFlags(), '--ciphers', 'NOT-A-CIPHER'], /Invalid --ciphers "NOT-A-CIPHER"/],
  ])('%s', async (_name, args, message) => {
    expectOneLineError(await runCli([...args(), '--port', '0', './no-such-app.mjs']), message);
  });

  test('--h2c with --certfile: HTTP/2 comes by ALPN there', async () => {
    expectOneLineError(await runCli([...tlsFlags(), '--h2c', '--port', '0']), /--h2c is HTTP\/2 without TLS/);
  });

  test('--h2c on uws, which has no HTTP/2', async (context) => {
    skipUnlessServable('uws', context);
    expectOneLineError(await runCli(['--backend', 'uws', '--h2c', '--port', '0']), /The uws backend cannot speak HTTP\/2 \(--h2c\)\. Use --backend/);
  });
});

describe.each(['node', 'fastify', 'uws'])('TLS on the %s backend', (backend) => {
  test('serves the hello app over TLS, with the certificate given', async (context) => {
    skipUnlessServable(backend, context);
    const server = await startCli(['--backend', backend, ...tlsFlags(), '--port', '0']);
    const reply = await getOverTls(server.addresses[0]!);
    expect(reply).toMatchObject({ status: 200, body: 'Hello world!\n' });
    expect(reply.fingerprint).toBe(fingerprintOf(certificates.localhost.certFile));
    expect(['TLSv1.2', 'TLSv1.3']).toContain(reply.protocol);
    const alpn = backend === 'uws' ? 'http/1.1' : 'h2 and http/1.1';
    expect(server.output()).toMatch(new RegExp(`TLS 1\\.2 and 1\\.3 on every socket, ${alpn} by ALPN: .*localhost\\.pem \\(localhost; valid until `));
    expect(await server.stop()).toBe(0);
  });

  test('an encrypted key opens with CHAUSSETTE_KEYFILE_PASSWORD, and with --keyfile-password-file', async (context) => {
    skipUnlessServable(backend, context);
    const { certFile, keyFile, keyPassword } = certificates.encryptedKey;
    const fromEnvironment = await startCli(['--backend', backend, '--certfile', certFile, '--keyfile', keyFile, '--port', '0'], {
      env: { CHAUSSETTE_KEYFILE_PASSWORD: keyPassword },
    });
    expect((await getOverTls(fromEnvironment.addresses[0]!)).status).toBe(200);
    await fromEnvironment.stop();
    const passwordFile = join(certificates.directory, 'password.txt');
    writeFileSync(passwordFile, `${keyPassword}\n`, { mode: 0o600 });
    const fromFile = await startCli(['--backend', backend, '--certfile', certFile, '--keyfile', keyFile, '--keyfile-password-file', passwordFile, '--port', '0']);
    expect((await getOverTls(fromFile.addresses[0]!)).status).toBe(200);
    await fromFile.stop();
  });

  test('SIGHUP: new connections get the renewed certificate, an open one keeps working, a bad file keeps the one in use', async (context) => {
    skipUnlessServable(backend, context);
    const live = makeTestCertificates();
    const certFile = join(live.directory, 'live.pem');
    const keyFile = join(live.directory, 'live.key');
    copyFileSync(certificates.localhost.certFile, certFile);
    copyFileSync(certificates.localhost.keyFile, keyFile);
    // `live` has its own CA: the agent's connection, opened before the renewal, trusts the first.
    const server = await startCli(['--backend', backend, '--certfile', certFile, '--keyfile', keyFile, '--port', '0']);
    const where = server.addresses[0]!;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = await getOverTls(where, { agent });
    expect(before.fingerprint).toBe(fingerprintOf(certificates.localhost.certFile));

    copyFileSync(live.localhost.certFile, certFile);
    copyFileSync(live.localhost.keyFile, keyFile);
    server.child.kill('SIGHUP');
    await expect.poll(() => server.output()).toMatch(/SIGHUP received: re-read .*live\.pem \(localhost; valid until \d{4}-\d\d-\d\d\); new connections get them/);
    const renewed = await getOverTls(where, { ca: live.ca.cert });
    expect(renewed.fingerprint).toBe(fingerprintOf(live.localhost.certFile));
    const kept = await getOverTls(where, { agent });
    expect(kept).toMatchObject({ status: 200, fingerprint: before.fingerprint }); // the connection opened before

    writeFileSync(keyFile, 'not a key\n');
    server.child.kill('SIGHUP');
    await expect.poll(() => server.output()).toMatch(/SIGHUP received: kept the certificates in use, the new ones do not load: --keyfile .*live\.key holds no PEM private key/);
    agent.destroy();
    const stillServed = await getOverTls(where, { ca: live.ca.cert });
    expect(stillServed.fingerprint).toBe(fingerprintOf(live.localhost.certFile));
    expect(await server.stop()).toBe(0);
  });
});

test('SIGHUP without TLS: one line, and the server serves on', async () => {
  const server = await startCli(['--port', '0']);
  server.child.kill('SIGHUP');
  await expect.poll(() => server.output()).toMatch(/SIGHUP received: no certificates to re-read/);
  expect(server.child.exitCode).toBeNull();
  expect(await server.stop()).toBe(0);
});

test('the config file takes the same keys', async () => {
  const config = join(certificates.directory, 'chaussette.json');
  writeFileSync(config, JSON.stringify({ certfile: certificates.localhost.certFile, keyfile: certificates.localhost.keyFile, certReqs: 'none', port: 0 }));
  const server = await startCli(['--config', config]);
  expect((await getOverTls(server.addresses[0]!)).body).toBe('Hello world!\n');
  expect(await server.stop()).toBe(0);
});

test('--use-reloader: its server serves TLS, and SIGHUP to the reloader reaches it', async () => {
  const server = await startCli([...tlsFlags(), '--use-reloader', '--port', '0', 'fetch-handler.mjs']);
  expect((await getOverTls(server.addresses[0]!)).status).toBe(200);
  server.child.kill('SIGHUP');
  await expect.poll(() => server.output()).toMatch(/SIGHUP received: re-read /);
  expect(await server.stop()).toBe(0);
});

test('a certificate that expires within two weeks: a warning at start-up', async () => {
  const certFile = join(certificates.directory, 'short-lived.pem');
  const keyFile = join(certificates.directory, 'short-lived.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '5', '-subj', '/CN=localhost', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  const server = await startCli(['--certfile', certFile, '--keyfile', keyFile, '--port', '0']);
  expect(server.output()).toMatch(/\[WARNING\] The certificate .*short-lived\.pem expires on \d{4}-\d\d-\d\d, in [45] days: renew it, then send SIGHUP/);
  expect(await server.stop()).toBe(0);
});

describe('node apps over HTTP/2 (ALPN h2), through the command line', () => {
  /** One request on a fresh HTTP/2 session: its status and body. */
  async function h2(where: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
    const session = http2Connect(`https://${where}`, { ca: certificates.ca.cert });
    session.on('error', () => {});
    try {
      const stream = session.request(headers, { endStream: body === undefined });
      if (body !== undefined) stream.end(body);
      let status = 0;
      let text = '';
      stream.on('response', (head) => (status = Number(head[':status'])));
      stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      await once(stream, 'end');
      return { status, body: text };
    } finally {
      session.close();
    }
  }

  test('Express: a page, a JSON body sent without Content-Length, an error answered 500, and the process lives', async () => {
    const server = await startCli([...tlsFlags(), '--port', '0', 'express-app.cjs']);
    const where = server.addresses[0]!;
    expect(await h2(where, { ':path': '/' })).toEqual({ status: 200, body: 'hello from express' });
    expect(await h2(where, { ':method': 'POST', ':path': '/json', 'content-type': 'application/json' }, '{"a":1}')).toEqual({ status: 200, body: '{"received":{"a":1}}' });
    expect((await h2(where, { ':path': '/boom' })).status).toBe(500);
    expect(await h2(where, { ':path': '/' })).toEqual({ status: 200, body: 'hello from express' });
    expect(await server.stop()).toBe(0);
  });

  test('Koa', async () => {
    const server = await startCli([...tlsFlags(), '--port', '0', 'koa-app.mjs']);
    expect(await h2(server.addresses[0]!, { ':path': '/there' })).toEqual({ status: 200, body: '{"framework":"koa","path":"/there"}' });
    expect(await server.stop()).toBe(0);
  });
});
