// The request a fetch app gets, handed on as a Request is: the input of `new Request(request, init)`,
// of `fetch(request, init)` (the proxy pattern: Hono's proxy helper, auth gateways, BFFs) and of
// `request.clone()`, for a GET and for a POST with a body (Fetch standard, "new Request(input, init)"
// and "fetch(input, init)": a Request input gives its method, URL, headers and body, and the new
// request takes its body over).
import type { App } from '@chaussette/core';
import { describe, expect } from 'vitest';
import { HELLO } from './apps.js';
import { currentTls, request } from './client.js';
import { type Kit, kindSkipped, sharedFixture } from './kit.js';
import { CHUNKED_BODIES_REFUSED, kitTest } from './known-failures.js';

const POSTED = 'name=Ada&lang=en';

/** What the echo route saw, as JSON. */
async function describeRequest(request: Request): Promise<Record<string, unknown>> {
  return {
    method: request.method,
    path: new URL(request.url).pathname,
    added: request.headers.get('x-added'),
    type: request.headers.get('content-type'),
    body: await request.text(),
  };
}

function requestInputApp(): App {
  return {
    kind: 'fetch',
    description: 'the kit app that hands its request on',
    source: undefined,
    async fetch(request: Request): Promise<Response> {
      // The second hop of /fetch: the request as fetch() sent it.
      if (request.headers.get('x-added') === 'by fetch') return Response.json(await describeRequest(request));
      const { pathname } = new URL(request.url);
      if (pathname === '/new-request') {
        const copy = new Request(request, { headers: { 'x-added': 'by new Request', 'content-type': request.headers.get('content-type') ?? 'none' } });
        return Response.json({ ...(await describeRequest(copy)), originalUsed: request.bodyUsed, isRequest: copy instanceof Request });
      }
      if (pathname === '/fetch') {
        const headers = { 'x-added': 'by fetch', 'content-type': request.headers.get('content-type') ?? 'none' };
        return fetch(request, { headers });
      }
      if (pathname === '/') return new Response(HELLO); // the served baseline
      if (pathname === '/clone') {
        const clone = request.clone();
        const [original, cloned] = await Promise.all([describeRequest(request), describeRequest(clone)]);
        return Response.json({ original, cloned });
      }
      return new Response('not found', { status: 404 });
    },
  };
}

export function describeRequestInput(kit: Kit): void {
  describe('the request handed on (new Request, fetch, clone)', () => {
    const served = sharedFixture(kit, 'fetch', requestInputApp);
    /** `skipWhy`: why the case does not apply to this suite, if it does not. */
    const it = (name: string, body: () => Promise<void>, skipWhy = () => kindSkipped(kit, 'fetch')) =>
      kitTest(name, async (context) => {
        const skipped = skipWhy();
        if (skipped) context.skip(skipped);
        await body();
      });
    const post = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: POSTED };
    const json = async (path: string, options = {}) => {
      const response = await request(served.address, path, options);
      expect(response.status, response.body.toString()).toBe(200);
      return JSON.parse(response.body.toString()) as Record<string, unknown>;
    };

    it('new Request(request, init) of a GET: its method and URL, the headers of init', async () => {
      expect(await json('/new-request')).toEqual({ method: 'GET', path: '/new-request', added: 'by new Request', type: 'none', body: '', originalUsed: false, isRequest: true });
    });

    it('new Request(request, init) of a POST takes its body over', async () => {
      expect(await json('/new-request', post)).toEqual({
        method: 'POST',
        path: '/new-request',
        added: 'by new Request',
        type: 'application/x-www-form-urlencoded',
        body: POSTED,
        originalUsed: true,
        isRequest: true,
      });
    });

    for (const [method, options, body] of [
      ['GET', {}, ''],
      ['POST', post, POSTED],
    ] as const) {
      it(
        `fetch(request, init) of a ${method}: sent on with its method, URL and body, and the answer served`,
        async () => {
          expect(await json('/fetch', options)).toEqual({ method, path: '/fetch', added: 'by fetch', type: method === 'GET' ? 'none' : 'application/x-www-form-urlencoded', body });
        },
        () =>
          kindSkipped(kit, 'fetch') ??
          // fetch() goes to the request's URL, this server, whose certificate undici does not trust.
          (currentTls() ? 'fetch() to a server with the kit\'s test certificate needs its CA in undici' : undefined) ??
          // and sends the request's body as the stream it is: chunked.
          (method === 'POST' && kit.options.refusesChunkedRequestBodies ? CHUNKED_BODIES_REFUSED : undefined),
      );

      it(`request.clone() of a ${method}: both read the whole body`, async () => {
        const seen = { method, path: '/clone', added: null, type: method === 'GET' ? null : 'application/x-www-form-urlencoded', body };
        expect(await json('/clone', options)).toEqual({ original: seen, cloned: seen });
      });
    }
  });
}
