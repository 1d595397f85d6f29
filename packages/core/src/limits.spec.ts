import { describe, expect, test } from 'vitest';
import { DEFAULT_LIMITS, refusal, refusalFor, type RequestHead, resolveLimits } from './limits.js';

const head = (overrides: Partial<RequestHead> = {}): RequestHead => ({
  method: 'POST',
  url: '/upload',
  contentLengths: [],
  transferEncodings: [],
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
    ['Content-Length with Transfer-Encoding', head({ contentLengths: ['5'], transferEncodings: ['chunked'] }), 400],
    ['a chunked body (judged as it arrives)', head({ transferEncodings: ['chunked'] }), 0],
    ['chunked in any case, with spaces around it', head({ transferEncodings: [' Chunked\t'] }), 0],
    ['a coding before chunked: one the server does not decode', head({ transferEncodings: ['gzip, chunked'] }), 501],
    ['the same, in two fields', head({ transferEncodings: ['gzip', 'chunked'] }), 501],
    ['chunked not last', head({ transferEncodings: ['chunked, gzip'] }), 400],
    ['no chunked at all', head({ transferEncodings: ['gzip'] }), 400],
    ['identity', head({ transferEncodings: ['identity'] }), 400],
    ['chunked twice', head({ transferEncodings: ['chunked, chunked'] }), 400],
    ['an empty coding', head({ transferEncodings: ['chunked,'] }), 400],
    ['a control character in the coding', head({ transferEncodings: ['\vchunked'] }), 400],
    ['an empty Content-Length', head({ contentLengths: [''] }), 400],
    ['a signed Content-Length', head({ contentLengths: ['+5'] }), 400],
    ['100 header fields (the default limit)', head({ fields: 100 }), 0],
    ['101 header fields', head({ fields: 101 }), 431],
    ['one valid Host', head({ hosts: ['example.com:8080'] }), 0],
    ['an empty Host', head({ hosts: [''] }), 0],
    ['no Host in HTTP/1.1', head({ hosts: [] }), 400],
    ['no Host in HTTP/1.0', head({ hosts: [], httpVersion: '1.0' }), 0],
    ['two Host fields', head({ hosts: ['a', 'a'] }), 400],
    ['an invalid Host', head({ hosts: ['a/b'] }), 400],
    ['Transfer-Encoding in HTTP/1.0', head({ transferEncodings: ['chunked'], httpVersion: '1.0' }), 400],
    ['HTTP/2.0 in HTTP/1 syntax', head({ httpVersion: '2.0' }), 505],
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
