import { createHash } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App, AppKind, Backend, FetchHandler, NodeListener } from '@chaussette/core';

/**
 * The conformance kit's app, written twice: as a node listener and as a fetch handler, route for route.
 * `events` tells the tests what the app saw: `slow-started`, `aborted`, `body-aborted`, `body-failed` (a
 * read of /digest's body failed), `app-closed`; tests emit `release`.
 */
export interface FixtureApps {
  node: App;
  fetch: App;
  events: EventEmitter;
}

export const HELLO = 'hello from chaussette\n';
export const STATUS_WITHOUT_BODY = new Set([204, 304]);

export function createFixtureApps(): FixtureApps {
  const events = new EventEmitter();
  events.setMaxListeners(100);
  const close = async () => void events.emit('app-closed');
  return {
    node: { kind: 'node', listener: nodeFixture(events), description: 'the conformance node app', source: undefined, close },
    fetch: { kind: 'fetch', fetch: fetchFixture(events), description: 'the conformance fetch app', source: undefined, close },
    events,
  };
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const SYNC_ERROR = 'fixture: thrown synchronously (secret-internal-detail)';

function nodeFixture(events: EventEmitter): NodeListener {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fixture');
    const route = url.pathname;
    if (route === '/') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(HELLO) });
      res.end(HELLO);
    } else if (route === '/ignore-body') {
      res.end('ignored');
    } else if (route === '/url') {
      res.end(`${req.method} ${req.url}`);
    } else if (route.startsWith('/status/')) {
      const status = Number(route.slice('/status/'.length));
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(STATUS_WITHOUT_BODY.has(status) ? undefined : `status ${status}`);
    } else if (route === '/headers') {
      res.setHeader('x-multi', ['a', 'b']);
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ 'x-multi-in': req.headers['x-multi-in'] ?? null }));
    } else if (route === '/bytes') {
      res.end(Buffer.alloc(Number(url.searchParams.get('size')), Number(url.searchParams.get('fill'))));
    } else if (route === '/echo') {
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' });
      req.pipe(res);
    } else if (route === '/digest') {
      req.once('close', () => req.complete || events.emit('body-aborted'));
      const hash = createHash('sha256');
      let bytes = 0;
      try {
        for await (const chunk of req) {
          hash.update(chunk as Buffer);
          bytes += (chunk as Buffer).length;
        }
      } catch (error) {
        events.emit('body-failed');
        throw error;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') }));
    } else if (route === '/json') {
      let text = '';
      for await (const chunk of req) text += chunk;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ received: JSON.parse(text) }));
    } else if (route === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('one\n');
      await once(events, 'release');
      res.end('two\n');
    } else if (route === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders(); // what a node app streaming server-sent events does
      await once(events, 'release');
      res.end('data: one\n\n');
    } else if (route === '/forever') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('tick\n'), 10);
      res.on('close', () => {
        clearInterval(timer);
        if (!res.writableFinished) events.emit('aborted');
      });
    } else if (route === '/slow') {
      events.emit('slow-started');
      await delay(Number(url.searchParams.get('ms') ?? 300));
      res.end('slow done');
    } else if (route === '/reject') {
      await delay(1);
      throw new Error('fixture: rejected asynchronously (secret-internal-detail)');
    } else if (route === '/pid') {
      res.end(String(process.pid));
    } else if (route === '/ip') {
      res.end(String(req.socket.remoteAddress));
    } else if (route === '/peer-credentials') {
      res.end(JSON.stringify((req as IncomingMessage & { peerCredentials?: unknown }).peerCredentials ?? null));
    } else {
      res.writeHead(404).end('not found');
    }
  };
  return (req, res) => {
    if (req.url === '/throw') throw new Error(SYNC_ERROR);
    return handle(req, res);
  };
}

function fetchFixture(events: EventEmitter): FetchHandler {
  const text = (body: string | null, init?: ResponseInit) => new Response(body, init);
  const handle = async (request: Request) => {
    const url = new URL(request.url);
    const route = url.pathname;
    if (route === '/') {
      return text(HELLO, { headers: { 'content-type': 'text/plain; charset=utf-8' } });
    } else if (route === '/ignore-body') {
      void request.body; // the real Request exists now, with a body nobody reads
      return text('ignored');
    } else if (route === '/url') {
      return text(`${request.method} ${url.pathname}${url.search}`);
    } else if (route.startsWith('/status/')) {
      const status = Number(route.slice('/status/'.length));
      return text(STATUS_WITHOUT_BODY.has(status) ? null : `status ${status}`, { status, headers: { 'content-type': 'text/plain' } });
    } else if (route === '/headers') {
      const headers = new Headers({ 'content-type': 'application/json' });
      headers.append('x-multi', 'a');
      headers.append('x-multi', 'b');
      headers.append('set-cookie', 'a=1; Path=/');
      headers.append('set-cookie', 'b=2; Path=/; HttpOnly');
      return text(JSON.stringify({ 'x-multi-in': request.headers.get('x-multi-in') }), { headers });
    } else if (route === '/bytes') {
      const bytes = new Uint8Array(Number(url.searchParams.get('size'))).fill(Number(url.searchParams.get('fill')));
      const response = new Response(bytes);
      bytes.fill(0); // the Response has its own copy: this must not reach the client
      return response;
    } else if (route === '/echo') {
      return new Response(request.body, {
        headers: { 'content-type': request.headers.get('content-type') ?? 'application/octet-stream' },
      });
    } else if (route === '/digest') {
      request.signal.addEventListener('abort', () => events.emit('body-aborted'));
      const bytes = new Uint8Array(
        await request.arrayBuffer().catch((error: unknown) => {
          events.emit('body-failed');
          throw error;
        }),
      );
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      return Response.json({ bytes: bytes.byteLength, sha256 });
    } else if (route === '/json') {
      return Response.json({ received: await request.json() });
    } else if (route === '/stream') {
      return streamedResponse(events);
    } else if (route === '/events') {
      return eventStreamResponse(events);
    } else if (route === '/forever') {
      return endlessResponse(request, events);
    } else if (route === '/slow') {
      events.emit('slow-started');
      await delay(Number(url.searchParams.get('ms') ?? 300));
      return text('slow done');
    } else if (route === '/reject') {
      await delay(1);
      throw new Error('fixture: rejected asynchronously (secret-internal-detail)');
    } else if (route === '/pid') {
      return text(String(process.pid));
    } else if (route === '/ip') {
      // srvx's convention for the client address of a fetch request.
      return text(String((request as Request & { ip?: string }).ip));
    } else if (route === '/peer-credentials') {
      return text(JSON.stringify((request as Request & { peerCredentials?: unknown }).peerCredentials ?? null));
    }
    return text('not found', { status: 404 });
  };
  return (request) => {
    if (request.url.endsWith('/throw')) throw new Error(SYNC_ERROR);
    return handle(request);
  };
}

/** /stream: `one`, then `two` once the test emits `release`. */
function streamedResponse(events: EventEmitter): Response {
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(encoder.encode('one\n'));
      await once(events, 'release');
      controller.enqueue(encoder.encode('two\n'));
      controller.close();
    },
  });
  return new Response(stream, { headers: { 'content-type': 'text/plain' } });
}

/** /events: server-sent events, the first one once the test emits `release`. */
function eventStreamResponse(events: EventEmitter): Response {
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      await once(events, 'release');
      controller.enqueue(new TextEncoder().encode('data: one\n\n'));
      controller.close();
    },
  });
  return new Response(stream, { headers: { 'content-type': 'text/event-stream' } });
}

/** /forever: a tick every 10 ms until the client goes (`aborted`). */
function endlessResponse(request: Request, events: EventEmitter): Response {
  const encoder = new TextEncoder();
  let aborted = false;
  const abort = () => {
    if (!aborted) events.emit('aborted');
    aborted = true;
  };
  request.signal.addEventListener('abort', abort);
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      await delay(10);
      controller.enqueue(encoder.encode('tick\n'));
    },
    cancel: abort,
  });
  return new Response(stream, { headers: { 'content-type': 'text/plain' } });
}

/** The fixture app a backend serves when either kind will do (fetch, if it takes both), or its kind. */
export function appFor(backend: Backend, fixtures: FixtureApps): App;
export function appFor(backend: Backend, fixtures: undefined): AppKind;
export function appFor(backend: Backend, fixtures: FixtureApps | undefined): App | AppKind {
  const kind = backend.appKinds.includes('fetch') ? 'fetch' : 'node';
  return fixtures ? fixtures[kind] : kind;
}
