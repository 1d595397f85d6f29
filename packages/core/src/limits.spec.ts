import { describe, expect, test } from 'vitest';
import { DEFAULT_LIMITS, refusal, refusalFor, type RequestHead, resolveLimits } from './limits.js';

const head = (overrides: Partial<RequestHead> = {}): RequestHead => ({
  method: 'POST',
  url: '/upload',
  contentLengths: [],
  hasTransferEncoding: false,
  inFlight: 0,
  ...overrides,
});
const limits = resolveLimits({ requestBodyBytes: 100, requestLineBytes: 50, concurrency: 2 });

describe('refusalFor', () => {
  test.each([
    ['a plain request', head(), 0],
    ['a body of exactly the limit', head({ contentLengths: ['100'] }), 0],
    ['a body declared over the limit', head({ contentLengths: ['101'] }), 413],
    ['a request line over the limit', head({ url: `/${'a'.repeat(40)}` }), 414],
    ['the limit of requests in flight reached', head({ inFlight: 2 }), 503],
    ['two different Content-Lengths', head({ contentLengths: ['5', '6'] }), 400],
    ['a repeated, identical Content-Length', head({ contentLengths: ['5', '5'] }), 0],
    ['a Content-Length that is not a number', head({ contentLengths: ['-1'] }), 400],
    ['Content-Length with Transfer-Encoding', head({ contentLengths: ['5'], hasTransferEncoding: true }), 400],
    ['a chunked body (judged as it arrives)', head({ hasTransferEncoding: true }), 0],
  ])('%s', (_name, request, status) => {
    expect(refusalFor(request, limits)).toBe(status);
  });

  test('0 turns a limit off', () => {
    const off = resolveLimits({ requestBodyBytes: 0, requestLineBytes: 0, concurrency: 0 });
    expect(refusalFor(head({ contentLengths: ['999999999999'], url: `/${'a'.repeat(100_000)}`, inFlight: 10_000 }), off)).toBe(0);
  });

  test('the defaults: 100 MiB of body, no limit of requests in flight', () => {
    expect(refusalFor(head({ contentLengths: [String(100 * 1024 * 1024 + 1)] }), DEFAULT_LIMITS)).toBe(413);
    expect(refusalFor(head({ inFlight: 100_000 }), DEFAULT_LIMITS)).toBe(0);
  });
});

test('a refusal closes the connection, says why, and asks a 503 client to retry', () => {
  expect(refusal(413)).toEqual({
    headers: { 'content-type': 'text/plain; charset=utf-8', connection: 'close' },
    body: "Payload Too Large: the request body is over the server's limit\n",
  });
  expect(refusal(503).headers['retry-after']).toBe('1');
});
