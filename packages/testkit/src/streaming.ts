// The kit's body cases, for each app kind: large and chunked request bodies, one the app does not read,
// byte bodies that must arrive whole while other clients stall, a streamed response (really streamed),
// server-sent events, and a client that aborts mid-response.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { describe, expect } from 'vitest';
import { clientRequest, keepAliveAgent, request } from './client.js';
import { APP_KINDS, type Kit, type SharedFixture, sharedFixture } from './kit.js';
import { CHUNKED_BODIES_REFUSED, kitSkip, kitTestForKind } from './known-failures.js';
import { completeBodies, rawExchange, sha256 } from './wire.js';

type It = ReturnType<typeof kitTestForKind>;

export function describeStreaming(kit: Kit): void {
  describe('bodies and streaming', () => {
    describe.each(APP_KINDS)('%s app', (kind) => {
      const served = sharedFixture(kit, kind);
      const it = kitTestForKind(kit.backend, kind);
      largeBodyCases(kit, it, served);
      requestBodyCases(kit.options.refusesChunkedRequestBodies ? (name) => kitSkip(name, CHUNKED_BODIES_REFUSED) : it, it, served);
      streamedResponseCases(it, served);
    });
  });
}

function requestBodyCases(itChunked: It, it: It, served: SharedFixture): void {
  itChunked('streams a chunked request body back while it arrives', async () => {
    const chunks = Array.from({ length: 64 }, () => randomBytes(64 * 1024));
    const response = await request(served.address, '/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/x-test' },
      body: chunks,
    });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/x-test');
    expect(sha256(response.body)).toBe(sha256(Buffer.concat(chunks)));
  });

  it('goes on with a keep-alive connection after a request body the app did not read', async () => {
    const agent = keepAliveAgent({ maxSockets: 1 });
    try {
      const ignored = await request(served.address, '/ignore-body', { method: 'POST', body: randomBytes(256 * 1024), agent });
      expect(ignored.body.toString()).toBe('ignored');
      const next = await request(served.address, '/url?next', { agent });
      expect(next.body.toString()).toBe('GET /url?next');
    } finally {
      agent.destroy();
    }
  });

  it('parses a JSON request body', async () => {
    const response = await request(served.address, '/json', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hello: ['wörld', 1] }),
    });
    expect(JSON.parse(response.body.toString())).toEqual({ received: { hello: ['wörld', 1] } });
  });
}

function largeBodyCases(kit: Kit, it: It, served: SharedFixture): void {
  it('reads a large request body sent with content-length', async () => {
    const body = randomBytes(8 * 1024 * 1024);
    const response = await request(served.address, '/digest', { method: 'POST', body });
    expect(JSON.parse(response.body.toString())).toEqual({ bytes: body.length, sha256: sha256(body) });
  });

  it('sends byte bodies whole and each its own, while others wait for clients that do not read yet', async () => {
    // A server may hold a body's bytes after the app returned (the client's socket is full) and reuse
    // buffers: one reused too early shows here as another response's bytes. Two clients pipeline
    // requests and read nothing for a while, one of them more than the kernel holds for it (8 MiB);
    // meanwhile others ask for the same sizes, a third of them pausing as they read.
    const { address } = served;
    const sizes = [8 * 1024, 64 * 1024 + 1, 300 * 1024, 1024 * 1024];
    const bodyOf = (index: number, fill: number) => ({ size: sizes[index % sizes.length]!, fill });
    const batches = [24, 12].map((length, batch) => Array.from({ length }, (_, index) => bodyOf(index, 1 + 50 * batch + index)));
    const stalled = batches.map((batch) => {
      const requests = batch.map(({ size, fill }, index) => `GET /bytes?size=${size}&fill=${fill} HTTP/1.1\r\nHost: x\r\n${index === batch.length - 1 ? 'Connection: close\r\n' : ''}\r\n`);
      return rawExchange(address, requests.join(''), { stallMs: 400, encoding: null });
    });
    await new Promise((resolve) => setTimeout(resolve, 100)); // the stalled clients' sockets are full by now
    const agent = keepAliveAgent({ maxSockets: 8 });
    const others = await Promise.all(
      Array.from({ length: 48 }, (_, index) => {
        const { size, fill } = bodyOf(index, 101 + index);
        return request(address, `/bytes?size=${size}&fill=${fill}`, { agent, stallMs: index % 3 === 0 ? 50 : 0 }).then(({ body }) => ({ body, size, fill }));
      }),
    ).finally(() => agent.destroy());
    for (const [index, batch] of batches.entries()) {
      const bodies = completeBodies(await stalled[index]!);
      const expected = kit.options.cutsStalledPipelines ? batch.slice(0, Math.max(8, bodies.length)) : batch;
      expect(bodies.map((body) => body.length)).toEqual(expected.map(({ size }) => size));
      for (const [at, { fill }] of expected.entries()) expect(bodies[at]!.every((byte) => byte === fill)).toBe(true);
    }
    for (const { body, size, fill } of others) {
      expect(body.length).toBe(size);
      expect(body.every((byte) => byte === fill)).toBe(true);
    }
  });
}

function streamedResponseCases(it: It, served: SharedFixture): void {
  it('streams a response: the first chunk reaches the client before the app writes the last', async () => {
    const { address, fixtures } = served;
    const received = await new Promise<string>((resolve, reject) => {
      const where = address.type === 'tcp' ? { host: address.host, port: address.port } : { socketPath: address.path };
      clientRequest({ ...where, path: '/stream', agent: false }, (res) => {
        let text = '';
        expect(res.headers['transfer-encoding']).toBe('chunked');
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          // The app writes its second chunk only after this release: a server that buffers the whole
          // response never gets here, and the test times out.
          if (text === '' && chunk === 'one\n') fixtures.events.emit('release');
          text += chunk;
        });
        res.on('end', () => resolve(text));
        res.on('error', reject);
      })
        .on('error', reject)
        .end();
    });
    expect(received).toBe('one\ntwo\n');
  });

  it('sends the headers of a streamed response before its first chunk (server-sent events)', async () => {
    const { address, fixtures } = served;
    const received = await new Promise<string>((resolve, reject) => {
      const where = address.type === 'tcp' ? { host: address.host, port: address.port } : { socketPath: address.path };
      clientRequest({ ...where, path: '/events', agent: false }, (res) => {
        // The app sends its first event only after this release: a server that holds the headers
        // back until the first chunk never gets here, and the test times out.
        expect(res.headers['content-type']).toBe('text/event-stream');
        fixtures.events.emit('release');
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve(text));
        res.on('error', reject);
      })
        .on('error', reject)
        .end();
    });
    // A server may send comment lines (`:…`), which SSE clients skip (uws does, to send the headers).
    expect(received.replace(/^:.*\n/gm, '')).toBe('data: one\n\n');
  });

  it('stops the app when the client aborts mid-response, and keeps serving', async () => {
    const { address, fixtures } = served;
    const aborted = once(fixtures.events, 'aborted');
    await new Promise<void>((resolve, reject) => {
      const where = address.type === 'tcp' ? { host: address.host, port: address.port } : { socketPath: address.path };
      const req = clientRequest({ ...where, path: '/forever', agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
      req.end();
    });
    await aborted;
    expect((await request(address, '/')).status).toBe(200);
  });
}
