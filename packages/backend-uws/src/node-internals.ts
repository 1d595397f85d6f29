// Every private part of node:http the compatibility layer (node-compat.ts) relies on, read here and
// nowhere else. node-internals.spec.ts has one test named after each, run on every supported Node.js:
// a release that changes one fails the test that names it.
import { IncomingMessage, ServerResponse } from 'node:http';

type Internal = Record<string | symbol, unknown>;

function symbolNamed(value: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(value).find((symbol) => symbol.description === description);
}

/** IncomingMessage[kHeadersCount]: node builds req.headers from that many entries of rawHeaders, on first read. */
export const kHeadersCount = symbolNamed(new IncomingMessage(null as never), 'kHeadersCount');
/** OutgoingMessage[kOutHeaders]: what setHeader() and its kin stored; null until the first of them. */
export const kOutHeaders = symbolNamed(new ServerResponse(new IncomingMessage(null as never)), 'kOutHeaders');

/** Makes req.headers (read lazily) those of a flat rawHeaders list; with IncomingMessage._addHeaderLine() where kHeadersCount is gone. */
export function setRawHeaders(req: IncomingMessage, raw: string[]): void {
  req.rawHeaders = raw;
  if (kHeadersCount) {
    (req as unknown as Internal)[kHeadersCount] = raw.length;
    return;
  }
  const headers = {};
  const withAddLine = req as unknown as { _addHeaderLine(name: string, value: string, into: object): void };
  for (let index = 0; index < raw.length; index += 2) withAddLine._addHeaderLine(raw[index]!, raw[index + 1]!, headers);
  req.headers = headers;
}

/**
 * What IncomingMessage's own _read() does before it reads: node:http holds a request's reads back
 * (`_consuming`, `_readableState.readingMore`) until the app consumes it. For a _read() that replaces it.
 */
export function markConsuming(req: IncomingMessage): void {
  const consumer = req as unknown as { _consuming: boolean; _readableState: { readingMore: boolean } };
  if (consumer._consuming) return;
  consumer._consuming = true;
  consumer._readableState.readingMore = false;
}

/** No setHeader() (nor appendHeader()…) yet: OutgoingMessage[kOutHeaders] is still null. */
export function noHeaderSet(res: ServerResponse): boolean {
  return kOutHeaders !== undefined && (res as unknown as Internal)[kOutHeaders] == null;
}

/** The head is decided (`_header` set): headersSent is true and setHeader() throws ERR_HTTP_HEADERS_SENT. */
export function headDecided(res: ServerResponse): boolean {
  return Boolean((res as unknown as { _header: string | null })._header);
}

/** Decides the head without writing one: `_header` is what headersSent reads, and node:http's only mark of it. */
export function decideHead(res: ServerResponse): void {
  (res as unknown as { _header: string })._header = ' ';
}

/** ServerResponse._implicitHeader(): node:http's `this.writeHead(this.statusCode)`, for a head the app did not write. */
export function implicitHeader(res: ServerResponse): void {
  (res as unknown as { _implicitHeader(): void })._implicitHeader();
}

/** Ends a response for node:http's getters: writableEnded reads `finished`. */
export function markFinished(res: ServerResponse): void {
  res.finished = true;
}

/**
 * A character node:http refuses in a header value (its private checkInvalidHeaderChar: a control
 * character but tab, DEL, anything past U+00FF); validateHeaderValue() throws for exactly these.
 */
export function isInvalidHeaderValueCode(code: number): boolean {
  return (code < 0x20 && code !== 0x09) || code === 0x7f || code > 0xff;
}
