import { execFile } from 'node:child_process';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ClientHttp2Session, connect as http2Connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { detectApp, loadTls, type RunningServer, startServer, type TlsSettings } from '@chaussette/core';
import { h2Request as kitH2Request, makeTestCertificates, recordingLogger } from '@chaussette/testkit';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, test } from 'vitest';
import fastifyBackend from './index.js';

const { ca, localhost } = makeTestCertificates();
const run = promisify(execFile);
const tlsFor = (http2 = true) => loadTls({ certFiles: [localhost.certFile], keyFiles: [localhost.keyFile], http2 });

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close(1000);
  server = undefined;
});

async function serve(value: unknown, options: { tls?: TlsSettings; h2c?: boolean; backendOptions?: Record<string, unknown> } = {}): Promise<number> {
  const app = detectApp(value, 'test app', { backend: fastifyBackend });
  server = await startServer({ app, backend: fastifyBackend, targets: [{ type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 }], logger: recordingLogger(), ...options });
  const bound = server.listening[0]!.bound;
  return bound.type === 'tcp' ? bound.port : 0;
}

// A plugin whose routes say which protocol carried them; /hang never answers.
const plugin = async function routes(fastify: FastifyInstance) {
  fastify.get('/', async (request) => `plugin ${request.raw.httpVersion}`);
  fastify.get('/slow', async () => new Promise((resolve) => setTimeout(() => resolve('slow done'), 400)));
  fastify.get('/hang', () => new Promise(() => {}));
};

/** GET `path` on `session`: its status and body; rejects when no response came. */
async function h2Request(session: ClientHttp2Session, path = '/'): Promise<{ status: number; body: string }> {
  const { status, body, error } = await kitH2Request(session, { ':path': path });
  if (status === undefined) throw error ?? new Error(`no response to ${path}`);
  return { status, body: body.toString() };
}

function httpsGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    httpsRequest({ host: '127.0.0.1', port, path: '/', ca: ca.cert, servername: 'localhost', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

const secureSession = (port: number) => http2Connect(`https://127.0.0.1:${port}`, { ca: ca.cert, servername: 'localhost' }).on('error', () => {});

describe('TLS and HTTP/2 on the fastify backend', () => {
  test('a plugin over TLS: h2 by ALPN and HTTP/1.1 beside; curl --http2', async () => {
    const port = await serve(plugin, { tls: await tlsFor() });
    const session = secureSession(port);
    expect(await h2Request(session)).toEqual({ status: 200, body: 'plugin 2.0' });
    session.close();
    expect(await httpsGet(port)).toBe('plugin 1.1');
    const curl = await run('curl', ['-sS', '--http2', '--cacert', ca.certFile, '--resolve', `localhost:${port}:127.0.0.1`, '-w', ' %{http_version}', `https://localhost:${port}/`]);
    expect(curl.stdout).toBe('plugin 2.0 2');
  });

  test('a plugin over TLS without HTTP/2 (--no-http2): node:https, HTTP/1.1 only', async () => {
    const port = await serve(plugin, { tls: await tlsFor(false) });
    expect(await httpsGet(port)).toBe('plugin 1.1');
    await expect(h2Request(secureSession(port))).rejects.toThrow();
  });

  test('a node app on the catch-all route over h2', async () => {
    const port = await serve((req: IncomingMessage, res: ServerResponse) => res.end(`node ${req.httpVersion}`), { tls: await tlsFor() });
    const session = secureSession(port);
    expect(await h2Request(session)).toEqual({ status: 200, body: 'node 2.0' });
    session.close();
  });

  test('h2c: a plugin gets prior-knowledge HTTP/2 and HTTP/1.1 on the same socket', async () => {
    const port = await serve(plugin, { h2c: true });
    const h2 = await run('curl', ['-sS', '--http2-prior-knowledge', '-w', ' %{http_version}', `http://127.0.0.1:${port}/`]);
    expect(h2.stdout).toBe('plugin 2.0 2');
    const h1 = await run('curl', ['-sS', '--http1.1', '-w', ' %{http_version}', `http://127.0.0.1:${port}/`]);
    expect(h1.stdout).toBe('plugin 1.1 1.1');
  });

  test('graceful close: a stream in flight completes after GOAWAY, and close() (Fastify’s too) waits no longer than the timeout', async () => {
    const port = await serve(plugin, { tls: await tlsFor() });
    const session = secureSession(port);
    const slow = h2Request(session, '/slow');
    const hanging = h2Request(session, '/hang').catch(() => ({ status: 0, body: '' }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const goaway = once(session, 'goaway');
    const started = Date.now();
    const closed = server!.close(800);
    await goaway;
    expect(await slow).toEqual({ status: 200, body: 'slow done' });
    await closed;
    server = undefined;
    expect(Date.now() - started).toBeLessThan(2500);
    expect(await hanging).toEqual({ status: 0, body: '' }); // cut at the timeout, unanswered
  });

  test('an exported instance over TLS is refused in one line that says to export a plugin', async () => {
    const instance = Fastify();
    await expect(serve(instance, { tls: await tlsFor() })).rejects.toThrow(
      'An exported Fastify instance made its own HTTP server, which cannot serve TLS (--certfile): export a plugin instead',
    );
  });

  test.each([
    ['https', () => Fastify({ https: { cert: localhost.cert, key: localhost.key } })],
    ['http2', () => Fastify({ http2: true })],
  ])('an exported instance made with its own %s options is recognised, and refused in one line that points to the flags', async (_option, make) => {
    const instance = make();
    await expect(serve(instance)).rejects.toThrow(
      "This Fastify instance was made with Fastify's own https or http2 options: chaussette serves TLS and HTTP/2 itself. Remove them from Fastify() and give --certfile and --keyfile",
    );
    await instance.close();
  });

  test('an exported instance gets h2c beside HTTP/1.1', async () => {
    const instance = Fastify();
    instance.get('/', async (request) => `instance ${request.raw.httpVersion}`);
    const port = await serve(instance, { h2c: true });
    const h2 = await run('curl', ['-sS', '--http2-prior-knowledge', `http://127.0.0.1:${port}/`]);
    expect(h2.stdout).toBe('instance 2.0');
  });

  test.each([
    ['https', 'give --certfile and --keyfile'],
    ['http2', 'with --certfile it offers HTTP/2 by ALPN (--no-http2 turns it off), and --h2c serves HTTP/2 without TLS'],
  ])('backendOptions.%s points to the flags', async (option, message) => {
    await expect(serve(plugin, { backendOptions: { [option]: true } })).rejects.toThrow(`backendOptions.${option} cannot be set: chaussette makes the server: ${message}`);
  });
});
