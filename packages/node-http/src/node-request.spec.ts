import { once } from 'node:events';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { afterEach, expect, test } from 'vitest';
import { createRequest } from './node-request.js';

let server: Server | undefined;
afterEach(() => void server?.close());

/** Runs `inspect` on the lazy Request of one real request, and returns what it returned. */
async function withRequest<T>(init: RequestInit & { path?: string }, inspect: (request: Request) => Promise<T>): Promise<T> {
  let result!: Promise<T>;
  server = createServer((req, res) => {
    result = inspect(createRequest(req, res, 'fallback.test'));
    result.then(
      () => res.end('ok'),
      () => res.end('failed'),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await (await fetch(`http://127.0.0.1:${port}${init.path ?? '/'}`, init)).text();
  return result;
}

/** Like withRequest(), with the target and Host as they go on the wire (fetch() would normalise them first). */
async function withRawRequest<T>(target: string, headers: Record<string, string>, inspect: (request: Request) => Promise<T>, method = 'GET'): Promise<T> {
  let result!: Promise<T>;
  server = createServer((req, res) => {
    result = inspect(createRequest(req, res, 'fallback.test'));
    void result.finally(() => res.end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const sent = httpRequest({ host: '127.0.0.1', port, method, path: target, headers, agent: false }).end();
  const [response] = (await once(sent, 'response')) as [NodeJS.ReadableStream];
  response.resume();
  return result;
}

test.each([
  ['/a/../b?q', 'EXAMPLE.com:80', 'http://example.com/b?q'],
  ['/a/%2e%2E/b', 'h.example:8080', 'http://h.example:8080/b'],
  ['//x/./y\\z', 'h.example', 'http://h.example//x/y/z'],
  ['/?a\'b', '[::1]:80', 'http://[::1]/?a%27b'],
  ['http://Other.example:80/c/../d', 'h.example', 'http://other.example/d'],
])('request.url is what new URL() makes of %s with Host: %s', async (target, host, url) => {
  expect(await withRawRequest(target, { host }, async (request) => request.url)).toBe(url);
});

test('request.headers stays the object it was once the real Request exists, and the real one sees its changes', async () => {
  const seen = await withRequest({ method: 'POST', body: 'x=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, async (request) => {
    const headers = request.headers;
    headers.set('x-set', 'before');
    const form = await request.formData();
    headers.append('x-set', 'after');
    const rebuilt = new Request(request, { method: 'PUT', body: 'replacement' });
    return { same: request.headers === headers, x: form.get('x'), real: rebuilt.headers.get('x-set'), constructor: request.constructor === Request };
  });
  expect(seen).toEqual({ same: true, x: '1', real: 'before, after', constructor: true });
});

test.each(['POST', 'DELETE', 'OPTIONS'])('a %s without a body has an empty body stream, as undici-based adapters give', async (method) => {
  const seen = await withRawRequest('/', { host: 'h.example', 'content-length': '0' }, async (request) => {
    return { method: request.method, body: request.body === null ? null : await new Response(request.body).text(), used: request.bodyUsed };
  }, method);
  expect(seen).toEqual({ method, body: '', used: true });
});

test('reads like a Request: instanceof, method, url with the Host header, headers, body readers', async () => {
  const seen = await withRequest(
    { method: 'POST', path: '/p?q=1', body: '{"a":1}', headers: { 'content-type': 'application/json', 'x-two': 'b' } },
    async (request) => ({
      isRequest: request instanceof Request,
      method: request.method,
      url: request.url,
      type: request.headers.get('content-type'),
      json: await request.json(),
      used: request.bodyUsed,
      aborted: request.signal.aborted,
    }),
  );
  expect(seen).toMatchObject({ isRequest: true, method: 'POST', type: 'application/json', json: { a: 1 }, used: true, aborted: false });
  expect(seen.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/p\?q=1$/);
});

test('becomes a real Request where one is needed: new Request(request), clone(), formData()', async () => {
  const seen = await withRequest(
    { method: 'PUT', body: 'a=1&b=two', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    async (request) => {
      const form = await request.clone().formData();
      // As with a real Request, the new one takes the body over.
      const copy = new Request(request, { headers: { 'x-added': 'yes' } });
      return { method: copy.method, added: copy.headers.get('x-added'), b: form.get('b'), text: await copy.text(), used: request.bodyUsed };
    },
  );
  expect(seen).toEqual({ method: 'PUT', added: 'yes', b: 'two', text: 'a=1&b=two', used: true });
});

test('a second read of the body fails as it does on a real Request', async () => {
  const error = await withRequest({ method: 'POST', body: 'x' }, async (request) => {
    await request.text();
    return request.text().then(() => undefined, (reason: Error) => reason.message);
  });
  expect(error).toMatch(/Body is unusable/);
});
