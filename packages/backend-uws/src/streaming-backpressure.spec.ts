// A long streamed body meets backpressure many times over: every byte must arrive, in order, for a
// client that reads as fast as it can and for one that keeps stopping (issue 29, item 3).
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { App, ServerHandle } from '@chaussette/core';
import { recordingLogger } from '@chaussette/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import backend from './index.js';
import { uwsUnavailableReason } from './uws.js';

const unavailable = uwsUnavailableReason();
beforeEach((context) => {
  if (unavailable) context.skip(unavailable);
});

const CHUNK_BYTES = 64 * 1024;
const CHUNKS = 800; // 50 MiB
const TOTAL_BYTES = CHUNK_BYTES * CHUNKS;

/** Chunk `index` of the body: a fresh buffer each time, numbered so that a lost or repeated chunk changes the digest. */
function chunkAt(index: number): Uint8Array {
  const chunk = new Uint8Array(CHUNK_BYTES);
  new DataView(chunk.buffer).setUint32(0, index);
  for (let offset = 4; offset < CHUNK_BYTES; offset += 251) chunk[offset] = (index + offset) & 0xff;
  return chunk;
}

const expectedDigest = (() => {
  const hash = createHash('sha256');
  for (let index = 0; index < CHUNKS; index++) hash.update(chunkAt(index));
  return hash.digest('hex');
})();

/** `/known` declares the length (uWS's tryEnd); any other path streams chunked (uWS's write). */
const declaresLength = (url: string | undefined) => url === '/known';

const fetchApp: App = {
  kind: 'fetch',
  description: 'a 50 MiB ReadableStream',
  source: undefined,
  fetch(request) {
    let index = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (index === CHUNKS) controller.close();
        else controller.enqueue(chunkAt(index++));
      },
    });
    const headers: Record<string, string> = declaresLength(new URL(request.url).pathname) ? { 'content-length': String(TOTAL_BYTES) } : {};
    return new Response(body, { headers });
  },
};

/** res.write() in a loop, waiting for 'drain' when write() says so, or (`?ignore`) writing on regardless. */
const nodeApp: App = {
  kind: 'node',
  description: 'res.write() in a loop',
  source: undefined,
  listener(req, res) {
    const [path, query] = (req.url ?? '/').split('?');
    if (declaresLength(path)) res.setHeader('content-length', TOTAL_BYTES);
    const honoursDrain = query !== 'ignore';
    let index = 0;
    const writeOn = () => {
      while (index < CHUNKS) {
        if (!res.write(chunkAt(index++)) && honoursDrain) {
          res.once('drain', writeOn);
          return;
        }
      }
      res.end();
    };
    writeOn();
  },
};

interface Received {
  bytes: number;
  digest: string;
  complete: boolean;
}

const STALL_MS = 3000;

/**
 * GET `path` and hash the body. A slow reader stops for 25 ms after every 2 MiB, long enough for the
 * socket buffers to fill, so the server waits for the socket again and again. Gives up after STALL_MS without data.
 */
function download(port: number, path: string, slow: boolean): Promise<Received> {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    let bytes = 0;
    let sinceLastPause = 0;
    let settled = false;
    const settle = (complete: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(stallTimer);
      request.destroy();
      resolve({ bytes, digest: hash.digest('hex'), complete });
    };
    const stallTimer = setTimeout(() => settle(false), STALL_MS);
    const request = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.byteLength;
        hash.update(chunk);
        stallTimer.refresh();
        sinceLastPause += chunk.byteLength;
        if (slow && sinceLastPause >= 2 * 1024 * 1024) {
          sinceLastPause = 0;
          response.pause();
          setTimeout(() => response.resume(), 25);
        }
      });
      response.on('end', () => settle(true));
      response.on('error', () => settle(false));
    });
    request.on('error', () => settle(false));
    request.end();
  });
}

describe('uws backend: a 50 MiB streamed body arrives whole', () => {
  const handles: ServerHandle[] = [];
  const ports = { fetch: 0, node: 0 };
  beforeAll(async () => {
    if (unavailable) return;
    for (const [kind, app] of [
      ['fetch', fetchApp],
      ['node', nodeApp],
    ] as const) {
      const handle = await backend.serve(app, { type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 }, { logger: recordingLogger() });
      handles.push(handle);
      if (handle.address.type !== 'tcp') throw new Error('expected a TCP address');
      ports[kind] = handle.address.port;
    }
  });
  afterAll(async () => {
    await Promise.all(handles.map((handle) => handle.close(100)));
  });

  test.each([
    ['fetch', '/known', 'fast'],
    ['fetch', '/known', 'slow'],
    ['fetch', '/chunked', 'fast'],
    ['fetch', '/chunked', 'slow'],
    ['node', '/known', 'fast'],
    ['node', '/known', 'slow'],
    ['node', '/chunked', 'fast'],
    ['node', '/chunked', 'slow'],
    ['node', '/known?ignore', 'fast'],
    ['node', '/chunked?ignore', 'slow'],
  ] as const)('%s app, GET %s, %s reader', async (kind, path, reader) => {
    const received = await download(ports[kind], path, reader === 'slow');
    expect(received).toEqual({ bytes: TOTAL_BYTES, digest: expectedDigest, complete: true });
  });
});
