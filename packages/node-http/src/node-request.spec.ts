import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
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
