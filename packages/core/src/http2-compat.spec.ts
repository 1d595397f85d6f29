// keepingHttp2Members on a real h2c server: what an app that swaps prototypes (Express) needs is kept on
// each request, and an app that does not pays for it only once.
import { once } from 'node:events';
import { IncomingMessage, ServerResponse } from 'node:http';
import { connect, createServer, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, test } from 'vitest';
import type { NodeListener } from './backend.js';
import { keepingHttp2Members } from './http2-compat.js';

let server: Http2Server | undefined;
afterEach(() => server?.close());

/** GETs `paths` one after the other on one session of an h2c server whose listener is `listener`. */
async function get(listener: NodeListener, paths: string[]): Promise<string[]> {
  server = createServer(listener as never);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const session = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const bodies: string[] = [];
  try {
    for (const path of paths) {
      const stream = session.request({ ':path': path });
      let body = '';
      stream.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      await once(stream, 'end');
      bodies.push(body);
    }
  } finally {
    session.close();
  }
  return bodies;
}

// As Express does on every request: node:http's prototypes, under an object of its own.
const expressLike = Object.create(IncomingMessage.prototype) as object;
const expressLikeResponse = Object.create(ServerResponse.prototype) as object;

test('an app that does not swap prototypes: the members are kept on its first HTTP/2 request only', async () => {
  const listener = keepingHttp2Members((req, res) => res.end(String(Object.hasOwn(req, '_read'))));
  expect(await get(listener, ['/', '/', '/'])).toEqual(['true', 'false', 'false']);
});

test('an app that swaps them: every request keeps its HTTP/2 members, and reads its body and answers as node:http2 has it', async () => {
  const listener = keepingHttp2Members((req, res) => {
    Object.setPrototypeOf(req, expressLike);
    Object.setPrototypeOf(res, expressLikeResponse);
    req.resume(); // IncomingMessage's _read would throw outside the app, for want of a socket
    req.on('end', () => res.end(String(Object.hasOwn(req, '_read'))));
  });
  expect(await get(listener, ['/', '/', '/'])).toEqual(['true', 'true', 'true']);
});

test('a swap seen only after the first request (a mounted app) gets the members once the app returns, and from then on before', async () => {
  const listener = keepingHttp2Members((req, res) => {
    if (req.url === '/plain') return res.end(String(Object.hasOwn(req, '_read')));
    const before = Object.hasOwn(req, '_read');
    Object.setPrototypeOf(req, expressLike);
    Object.setPrototypeOf(res, expressLikeResponse);
    req.resume();
    req.on('end', () => res.end(`${before} ${Object.hasOwn(req, '_read')}`));
  });
  expect(await get(listener, ['/plain', '/plain', '/swap', '/swap'])).toEqual(['true', 'false', 'false true', 'true true']);
});
