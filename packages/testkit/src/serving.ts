// The kit's plain serving cases, for each app kind: status lines and reason phrases, headers, HEAD,
// keep-alive, the Host of a fetch request, and an app that throws or rejects.
import { STATUS_CODES } from 'node:http';
import { type AppKind } from '@chaussette/core';
import { describe, expect } from 'vitest';
import { HELLO } from './apps.js';
import { keepAliveAgent, request } from './client.js';
import { APP_KINDS, type Kit, kindSkipped, type SharedFixture, sharedFixture } from './kit.js';
import { kitTest, kitTestForKind } from './known-failures.js';
import { rawExchange, responseHead } from './wire.js';

type It = ReturnType<typeof kitTestForKind>;

export function describeServing(kit: Kit): void {
  describe('serving', () => {
    describe.each(APP_KINDS)('%s app', (kind) => {
      const served = sharedFixture(kit, kind);
      const it = kitTestForKind(kit.backend, kind);
      statusCases(it, served);
      headerCases(it, served);
      keepAliveCases(it, served);
      hostCases(kit, kind, served);
      appErrorCases(it, served);
    });
  });
}

function statusCases(it: It, served: SharedFixture): void {
  it('answers GET with status, headers and body, on the port it reports', async () => {
    const { address } = served;
    expect(address.type === 'tcp' && address.port).toBeGreaterThan(0);
    const response = await request(address, '/');
    expect(response.status).toBe(200);
    expect(response.statusText).toBe('OK');
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(response.body.toString()).toBe(HELLO);
  });

  it('passes method, path and query to the app', async () => {
    const response = await request(served.address, '/url?q=1&r=%20x', { method: 'DELETE' });
    expect(response.body.toString()).toBe('DELETE /url?q=1&r=%20x');
  });

  for (const status of [201, 204, 304, 404, 418, 503]) {
    it(`sends status ${status} with its reason phrase${status === 204 || status === 304 ? ' and no body' : ''}`, async () => {
      const response = await request(served.address, `/status/${status}`);
      expect(response.status).toBe(status);
      expect(response.statusText).toBe(STATUS_CODES[status]);
      expect(response.body.toString()).toBe(status === 204 || status === 304 ? '' : `status ${status}`);
    });
  }
}

function headerCases(it: It, served: SharedFixture): void {
  it('answers HEAD with the headers of GET and no body', async () => {
    const get = await request(served.address, '/');
    // Keep-alive: the HEAD response must end with its headers, whatever length it announces.
    const head = await responseHead(served.address, 'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    const lower = head.toLowerCase();
    expect(lower).toContain(`content-type: ${get.headers['content-type']}\r\n`);
    expect(get.headers['content-length']).toBe(String(Buffer.byteLength(HELLO)));
    expect(lower).toContain(`content-length: ${get.headers['content-length']}\r\n`);
    expect(lower.match(/\r\ncontent-length:/g)).toHaveLength(1);
    expect(head.indexOf('\r\n\r\n')).toBe(head.length - 4); // nothing after the headers
  });

  it('sends no Content-Length with a 204', async () => {
    const head = await responseHead(served.address, 'GET /status/204 HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 204 No Content\r\n/);
    expect(head.toLowerCase()).not.toContain('content-length');
  });

  it('keeps multi-value headers apart: set-cookie lines stay separate, repeated request headers reach the app', async () => {
    const response = await request(served.address, '/headers', { headers: { 'x-multi-in': ['1', '2'] } });
    expect(response.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
    expect(response.headers['x-multi']).toBe('a, b');
    expect(JSON.parse(response.body.toString())).toEqual({ 'x-multi-in': '1, 2' });
  });
}

function keepAliveCases(it: It, served: SharedFixture): void {
  it('serves several requests on one keep-alive connection', async () => {
    const agent = keepAliveAgent({ maxSockets: 1 });
    try {
      const first = await request(served.address, '/', { agent });
      const second = await request(served.address, '/url?again', { agent });
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(second.reusedSocket).toBe(true);
      expect(second.body.toString()).toBe('GET /url?again');
    } finally {
      agent.destroy();
    }
  });
}

function hostCases(kit: Kit, kind: AppKind, served: SharedFixture): void {
  kitTest('fetch apps: a malformed Host header is refused, an empty one falls back to the server address', async (context) => {
    if (kind !== 'fetch' || kindSkipped(kit, kind)) context.skip('node apps read the Host header themselves');
    const evil = await rawExchange(served.address, 'GET /public HTTP/1.1\r\nHost: evil/admin#\r\nConnection: close\r\n\r\n');
    expect(evil).toMatch(/^(HTTP\/1\.1 400 [^]*)?$/); // 400, or closed with no answer (RFC 9112 §3.2)
    const empty = await rawExchange(served.address, 'GET /url?x HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n');
    expect(empty).toMatch(/^HTTP\/1\.1 200 /);
    expect(empty.endsWith('GET /url?x')).toBe(true);
  });
}

function appErrorCases(it: It, served: SharedFixture): void {
  for (const route of ['/throw', '/reject']) {
    it(`answers 500 when the app ${route === '/throw' ? 'throws' : 'rejects'}, logs it, and keeps serving`, async () => {
      const { address, logger } = served;
      const before = logger.errors.length;
      const response = await request(address, route);
      expect(response.status).toBe(500);
      expect(response.body.toString()).not.toContain('secret-internal-detail');
      expect(logger.errors.length).toBe(before + 1);
      expect(String((logger.errors.at(-1)?.err as Error | undefined)?.message)).toContain('secret-internal-detail');
      expect((await request(address, '/')).status).toBe(200);
    });
  }
}
