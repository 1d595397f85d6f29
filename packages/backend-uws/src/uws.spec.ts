// What the conformance kit does not reach: uWS's framing choices and its corked writes.
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { request as httpRequest } from 'node:http';
import type { App, NodeListener, ServerHandle } from '@chaussette/core';
import { recordingLogger } from '@chaussette/testkit';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import backend from './index.js';
import { uwsUnavailableReason } from './uws.js';

const unavailable = uwsUnavailableReason();
beforeEach((context) => {
  if (unavailable) context.skip(unavailable);
});

const encoder = new TextEncoder();
const handles: ServerHandle[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((handle) => handle.close(100)));
});

async function serve(app: App): Promise<number> {
  const handle = await backend.serve(app, { type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 }, { logger: recordingLogger() });
  handles.push(handle);
  if (handle.address.type !== 'tcp') throw new Error('expected a TCP address');
  return handle.address.port;
}

const fetchApp = (fetch: (request: Request) => Response | Promise<Response>): App => ({ kind: 'fetch', fetch, description: 'test app', source: undefined });

/** The raw bytes of one exchange, until the server closes the connection or `waitMs` passes. */
function exchange(port: number, path: string, waitMs = 500): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(text);
    }, waitMs);
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.on('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`);
  });
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** GET / from a client that reads nothing for 200 ms; the SHA-256 of the body. `onHeaders` runs when the headers arrive. */
function slowlyReadDigest(port: number, onHeaders?: () => void): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      const hash = createHash('sha256');
      res.pause();
      onHeaders?.();
      setTimeout(() => res.resume(), 200);
      res.on('data', (chunk: Buffer) => hash.update(chunk));
      res.on('end', () => resolve(hash.digest('hex')));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

const streamOf = (...chunks: string[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });

describe('uws backend: response framing', () => {
  test('a streamed body with the content-length the app set goes out with it, not chunked', async () => {
    const port = await serve(fetchApp(() => new Response(streamOf('abc', 'def'), { headers: { 'content-length': '6' } })));
    const raw = await exchange(port, '/', 300);
    expect(raw).toMatch(/\r\nContent-Length: 6\r\n/);
    expect(raw).not.toMatch(/transfer-encoding/i);
    expect(raw.endsWith('\r\n\r\nabcdef')).toBe(true);
  });

  test('a stream shorter than its content-length: the bytes written reach the client, then the connection closes', async () => {
    const port = await serve(fetchApp(() => new Response(streamOf('abc'), { headers: { 'content-length': '6' } })));
    const raw = await exchange(port, '/', 2000);
    expect(raw.endsWith('\r\n\r\nabc')).toBe(true); // and `exchange` returned on close, well before 2 s
  });

  test('server-sent events: the headers go out before the first event', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const port = await serve(
      fetchApp(
        () =>
          new Response(
            new ReadableStream({
              async start(controller) {
                await released;
                controller.enqueue(encoder.encode('data: 1\n\n'));
                controller.close();
              },
            }),
            { headers: { 'content-type': 'text/event-stream' } },
          ),
      ),
    );
    const head = await exchange(port, '/', 300);
    release();
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head).toContain('content-type: text/event-stream');
    expect(head).not.toContain('data: 1');
  });

  test('a 4 MiB body to a client that reads slowly arrives whole, and a graceful close waits for it', async () => {
    const body = randomBytes(4 * 1024 * 1024);
    const handle = await backend.serve(
      fetchApp(() => new Response(body)),
      { type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 },
      { logger: recordingLogger() },
    );
    const { port } = handle.address as { port: number };
    // The close begins while most of the body is still waiting in uWS.
    const digest = await slowlyReadDigest(port, () => void handle.close(10_000));
    expect(digest).toBe(sha256(body));
    await handle.close(10_000);
  });
});

describe('uws backend: fetch apps answering in the microtasks uWS runs after its handler', () => {
  // uWS ends the process when its handler returns with neither an answer nor an abort handler: the
  // abort handler is attached in a microtask, after an answer that was ready at once and before a later one.
  test('answers given at once, a few promise hops later, and after a timer, mixed on one server', async () => {
    const port = await serve(
      fetchApp((request) => {
        const path = new URL(request.url).pathname;
        if (path === '/sync') return new Response('sync');
        const answer = async () => {
          if (path === '/hops') for (let hop = 0; hop < 5; hop++) await Promise.resolve();
          if (path === '/timer') await new Promise((resolve) => setTimeout(resolve, 5));
          return new Response(path.slice(1));
        };
        return answer();
      }),
    );
    const paths = Array.from({ length: 120 }, (_, index) => ['/sync', '/async', '/hops', '/timer'][index % 4]!);
    const bodies = await Promise.all(paths.map(async (path) => (await fetch(`http://127.0.0.1:${port}${path}`)).text()));
    expect(bodies).toEqual(paths.map((path) => path.slice(1)));
  });
});

describe('uws backend: node apps answering inside the handler', () => {
  const nodeApp = (listener: NodeListener): App => ({ kind: 'node', listener, description: 'test app', source: undefined });

  test('204 and HEAD answered synchronously, and a known-length body cut short, leave the server healthy', async () => {
    const port = await serve(
      nodeApp((req, res) => {
        if (req.url === '/204') res.writeHead(204).end();
        else if (req.url === '/short') {
          res.setHeader('content-length', '10');
          res.write('abc');
          res.end();
        } else res.end('ok');
      }),
    );
    expect(await exchange(port, '/204', 300)).toMatch(/^HTTP\/1\.1 204 No Content\r\n/);
    expect((await exchange(port, '/short', 2000)).endsWith('\r\n\r\nabc')).toBe(true);
    expect((await exchange(port, '/', 300)).endsWith('ok')).toBe(true);
  });
});

describe('uws backend: node apps that ignore backpressure', () => {
  const nodeApp = (listener: NodeListener): App => ({ kind: 'node', listener, description: 'test app', source: undefined });

  test('write() of 4 MiB with its content-length, then end(): the slow client gets every byte', async () => {
    const body = randomBytes(4 * 1024 * 1024);
    const port = await serve(
      nodeApp((_req, res) => {
        res.writeHead(200, { 'content-length': String(body.length) });
        res.write(body.subarray(0, 3 * 1024 * 1024));
        res.write(body.subarray(3 * 1024 * 1024)); // without waiting for 'drain'
        res.end();
      }),
    );
    expect(await slowlyReadDigest(port)).toBe(sha256(body));
  });

  test('a large upload the app never reads, answered later with a streamed known-length body: the connection goes on', async () => {
    const port = await serve(
      nodeApp((req, res) => {
        if (req.method === 'POST') {
          // Later, once more than 64 KiB of the upload waits unread and the connection is paused.
          setTimeout(() => {
            res.writeHead(401, { 'content-length': '12' });
            res.write('Unauthorized');
            res.end();
          }, 100);
        } else {
          res.end('next');
        }
      }),
    );
    const { Agent } = await import('node:http');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const ask = (method: string, body?: Buffer) =>
        new Promise<string>((resolve, reject) => {
          const req = httpRequest({ host: '127.0.0.1', port, path: '/', method, agent }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve(`${res.statusCode} ${text}`));
          });
          req.on('error', reject);
          req.end(body);
        });
      expect(await ask('POST', randomBytes(1024 * 1024))).toBe('401 Unauthorized');
      expect(await ask('GET')).toBe('200 next');
    } finally {
      agent.destroy();
    }
  });
});
