// One test per private part of node:http that node-internals.ts reads: when a Node.js release changes
// one, the test named after it fails (and the compatibility layer needs a look).
import { IncomingMessage, ServerResponse, validateHeaderValue } from 'node:http';
import { describe, expect, test } from 'vitest';
import {
  decideHead,
  headDecided,
  implicitHeader,
  isInvalidHeaderValueCode,
  kHeadersCount,
  kOutHeaders,
  markConsuming,
  markFinished,
  noHeaderSet,
  setRawHeaders,
} from './node-internals.js';

const RAW = ['Host', 'a', 'X-Twice', '1', 'x-twice', '2', 'Set-Cookie', 'c=1', 'set-cookie', 'c=2'];
const EXPECTED_HEADERS = { host: 'a', 'x-twice': '1, 2', 'set-cookie': ['c=1', 'c=2'] };
const request = () => new IncomingMessage(null as never);
const response = () => new ServerResponse(request());

describe("node:http's internals the uws compatibility layer relies on", () => {
  test('IncomingMessage[kHeadersCount]: req.headers is built from that many rawHeaders entries, on first read', () => {
    expect(kHeadersCount).toBeDefined();
    const req = request();
    setRawHeaders(req, RAW);
    expect(req.headers).toEqual(EXPECTED_HEADERS);
  });

  test("IncomingMessage._addHeaderLine(name, value, into): what req.headers is built with where kHeadersCount is gone", () => {
    const req = request();
    const headers = {};
    const withAddLine = req as unknown as { _addHeaderLine(name: string, value: string, into: object): void };
    for (let index = 0; index < RAW.length; index += 2) withAddLine._addHeaderLine(RAW[index]!, RAW[index + 1]!, headers);
    expect(headers).toEqual(EXPECTED_HEADERS);
  });

  test("IncomingMessage._consuming and _readableState.readingMore: node's _read() sets them as markConsuming() does", () => {
    const ours = request();
    const nodes = request();
    const internals = (req: IncomingMessage) => {
      const state = req as unknown as { _consuming: boolean; _readableState: { readingMore: boolean } };
      return [state._consuming, state._readableState.readingMore];
    };
    expect(internals(ours)).toEqual([false, true]);
    markConsuming(ours);
    (nodes as unknown as { socket: unknown }).socket = { readable: false };
    nodes._read(1);
    expect(internals(ours)).toEqual([true, false]);
    expect(internals(nodes)).toEqual(internals(ours));
  });

  test('OutgoingMessage[kOutHeaders]: null until the first setHeader()', () => {
    expect(kOutHeaders).toBeDefined();
    const res = response();
    expect(noHeaderSet(res)).toBe(true);
    res.setHeader('x-a', '1');
    expect(noHeaderSet(res)).toBe(false);
  });

  test('OutgoingMessage._header: headersSent reads it, and setHeader() then throws ERR_HTTP_HEADERS_SENT', () => {
    const res = response();
    expect(headDecided(res)).toBe(false);
    decideHead(res);
    expect(headDecided(res)).toBe(true);
    expect(res.headersSent).toBe(true);
    expect(() => res.setHeader('x-a', '1')).toThrow(expect.objectContaining({ code: 'ERR_HTTP_HEADERS_SENT' }));
  });

  test('ServerResponse._implicitHeader(): calls the instance\'s writeHead(statusCode)', () => {
    const res = response();
    const calls: unknown[][] = [];
    res.writeHead = ((...args: unknown[]) => {
      calls.push(args);
      return res;
    }) as typeof res.writeHead;
    res.statusCode = 201;
    implicitHeader(res);
    expect(calls).toEqual([[201]]);
  });

  test('OutgoingMessage.finished: writableEnded reads it', () => {
    const res = response();
    expect(res.writableEnded).toBe(false);
    markFinished(res);
    expect(res.writableEnded).toBe(true);
  });

  test('OutgoingMessage.destroyed: a plain property of each response, which the layer sets when the client leaves', () => {
    const res = response();
    expect(Object.getOwnPropertyDescriptor(res, 'destroyed')).toMatchObject({ value: false, writable: true });
  });

  test("checkInvalidHeaderChar: validateHeaderValue() refuses exactly the characters isInvalidHeaderValueCode() names", () => {
    const disagreements: number[] = [];
    for (let code = 0; code <= 0x1ff; code++) {
      let refused = false;
      try {
        validateHeaderValue('x-probe', `a${String.fromCharCode(code)}b`);
      } catch {
        refused = true;
      }
      if (refused !== isInvalidHeaderValueCode(code)) disagreements.push(code);
    }
    expect(disagreements).toEqual([]);
  });
});
