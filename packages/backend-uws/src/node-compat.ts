// Node request listeners on uWebSockets.js. `req` is a real http.IncomingMessage and `res` a real
// http.ServerResponse (Express swaps their prototypes for its own, which inherit from these), with the
// methods that would write to a socket replaced, on the instance, by ones that write through uWS.
// Covered: the request line, headers and body stream; statusCode/statusMessage, setHeader() & co,
// writeHead(), write() with backpressure and 'drain', end(), flushHeaders(), destroy(), 'finish' and
// 'close' events, req.socket.remoteAddress. Every head goes through the instance's writeHead(), implicit
// ones too (as node's _implicitHeader() does), so one patched there (on-headers) runs; HEAD gets the head
// of GET, with the Content-Length the app declared, whatever it writes. Not covered, and throwing when used: the raw socket
// (req.socket.write…), trailers, 1xx responses (writeContinue, writeEarlyHints) and upgrades.
import { EventEmitter } from 'node:events';
import type { PeerCertificate } from 'node:tls';
import { IncomingMessage, type OutgoingHttpHeaders, ServerResponse, STATUS_CODES, validateHeaderName, validateHeaderValue } from 'node:http';
import { hasContentLength, type NodeListener } from '@chaussette/core';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { Exchange, type ServerState } from './exchange.js';
import { decideHead, headDecided, implicitHeader, isInvalidHeaderValueCode, markConsuming, markFinished, noHeaderSet, setRawHeaders } from './node-internals.js';

function unsupported(what: string): Error {
  return new Error(`${what} is not supported by the uws backend (uWebSockets.js owns the socket): serve this app with --backend node`);
}

/**
 * Stands in for the net.Socket of node:http, one per request (uWS does not expose its connections); over
 * TLS, for the tls.TLSSocket of node:https as far as uWS tells: the client's verified certificate.
 */
class UwsSocket extends EventEmitter {
  readable = true;
  writable = true;
  destroyed = false;
  readonly writableLength = 0;
  readonly readableHighWaterMark = 64 * 1024;
  constructor(private readonly exchange: Exchange) {
    super();
  }

  get remoteAddress(): string | undefined {
    return this.exchange.remoteAddress;
  }
  get encrypted(): boolean {
    return this.exchange.state.encrypted;
  }
  /** uSockets fails the handshake of a certificate that does not verify: one that is there has. */
  get authorized(): boolean {
    return this.exchange.peerCertificatePem !== '';
  }
  /** As node:tls gives it: the certificate's fields, `{}` when the client sent none. No issuer chain (`detailed`): uWS gives the leaf only. */
  getPeerCertificate(): PeerCertificate | Record<string, never> {
    return this.exchange.peerCertificate?.toLegacyObject() ?? {};
  }
  get remoteFamily(): string | undefined {
    const address = this.remoteAddress;
    return address === undefined ? undefined : address.includes(':') ? 'IPv6' : 'IPv4';
  }
  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  cork(): void {}
  uncork(): void {}
  resume(): this {
    return this;
  }
  pause(): this {
    return this;
  }
  destroy(): this {
    this.exchange.destroy();
    return this;
  }
  write(): never {
    throw unsupported('Writing to req.socket');
  }
  end(): never {
    throw unsupported('Ending req.socket');
  }
}

type Callback = (error?: Error | null) => void;
type Chunk = string | Uint8Array;

/** The state of one compat response, beside node's own fields. */
interface ResponseState {
  exchange: Exchange;
  /** Status and headers went to uWS (with the first write or end). */
  flushed: boolean;
  /** 'close' was emitted on the response (once finished, or by an abort or destroy()). */
  closeEmitted: boolean;
  /**
   * The headers writeHead() was given, flat and checked, when they are all of the head (no setHeader()
   * before): node:http writes those as they are too, without storing them (getHeader() does not see them).
   */
  head?: string[];
}

export function nodeHandler(listener: NodeListener, server: ServerState) {
  const serveLater = (exchange: Exchange) => callListener(listener, exchange);
  return (uwsRes: HttpResponse, uwsReq: HttpRequest): void => {
    const exchange = new Exchange(uwsRes, uwsReq, server);
    if (!server.servesNow(exchange, serveLater)) {
      exchange.leaveHandler();
      return;
    }
    try {
      callListener(listener, exchange);
    } finally {
      exchange.leaveHandler();
    }
  };
}

function callListener(listener: NodeListener, exchange: Exchange): void {
  const socket = new UwsSocket(exchange);
  const req = createRequest(exchange, socket);
  const [res, state] = createResponse(req, exchange, socket);
  exchange.onAbort(() => {
    socket.destroyed = true;
    socket.writable = socket.readable = false;
    res.destroyed = true;
    if (!req.complete) req.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    if (!state.closeEmitted) {
      state.closeEmitted = true;
      res.emit('close');
    }
    socket.emit('close', true);
  });
  listener(req, res);
}

function createRequest(exchange: Exchange, socket: UwsSocket): IncomingMessage {
  const req = new IncomingMessage(socket as never);
  req.method = exchange.method;
  req.url = exchange.url;
  req.httpVersion = '1.1'; // the only version uWebSockets.js 20 speaks
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  setRawHeaders(req, exchange.headers);
  const body = exchange.body;
  if (!body) {
    req.complete = true;
    req.push(null);
    return req;
  }
  let reading = false;
  req._read = () => {
    markConsuming(req);
    if (reading) return;
    reading = true;
    body.read().then(
      (chunk) => {
        reading = false;
        if (chunk === null) {
          req.complete = true;
          req.push(null);
        } else {
          req.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        }
      },
      (error: unknown) => req.destroy(error as Error),
    );
  };
  return req;
}

const compatState = Symbol('compatState');
const stateOf = (res: ServerResponse): ResponseState => (res as unknown as CompatResponse)[compatState];

// The methods that write through uWS. One function each for every response (not a closure per
// request): they find the response's state on it.
const compatMethods = {
  writeHead,
  write(this: ServerResponse, chunk: Chunk, encoding?: BufferEncoding | Callback, callback?: Callback) {
    return write(this, stateOf(this), chunk, encoding, callback);
  },
  end(this: ServerResponse, chunk?: Chunk | Callback, encoding?: BufferEncoding | Callback, callback?: Callback) {
    return end(this, stateOf(this), chunk, encoding, callback);
  },
  flushHeaders(this: ServerResponse) {
    const state = stateOf(this);
    // node:http: `if (!this._header) this._implicitHeader()`, then the head goes out.
    implicitHead(this);
    if (state.flushed) return;
    if (state.exchange.isHead) void sendHeadResponse(this, state, null); // the head is all of a HEAD response
    else startStream(this, state);
  },
  destroy(this: ServerResponse, error?: Error) {
    if (this.destroyed) return this;
    const state = stateOf(this);
    this.destroyed = true;
    state.exchange.destroy(); // may run the abort listener at once, which says 'close'
    if (error && this.listenerCount('error') > 0) process.nextTick(() => this.emit('error', error));
    process.nextTick(() => {
      if (state.closeEmitted) return;
      state.closeEmitted = true;
      this.emit('close');
    });
    return this;
  },
  addTrailers() {
    throw unsupported('res.addTrailers()');
  },
  writeContinue() {
    throw unsupported('res.writeContinue()');
  },
  writeProcessing() {
    throw unsupported('res.writeProcessing()');
  },
  writeEarlyHints() {
    throw unsupported('res.writeEarlyHints()');
  },
};

// The methods as own properties, so they survive Express's swap of the prototype: class fields, which
// V8 defines as fast as the constructor's own (Object.assign() per response cost more than the rest of it).
const NodeResponse = ServerResponse as unknown as new (req: IncomingMessage) => object;
class CompatResponse extends NodeResponse {
  readonly [compatState]: ResponseState;
  writeHead = compatMethods.writeHead;
  write = compatMethods.write;
  end = compatMethods.end;
  flushHeaders = compatMethods.flushHeaders;
  destroy = compatMethods.destroy;
  addTrailers = compatMethods.addTrailers;
  writeContinue = compatMethods.writeContinue;
  writeProcessing = compatMethods.writeProcessing;
  writeEarlyHints = compatMethods.writeEarlyHints;

  constructor(req: IncomingMessage, state: ResponseState, socket: UwsSocket) {
    super(req);
    this[compatState] = state;
    (this as unknown as { socket: unknown }).socket = socket;
  }
}

function createResponse(req: IncomingMessage, exchange: Exchange, socket: UwsSocket): [ServerResponse, ResponseState] {
  const state: ResponseState = { exchange, flushed: false, closeEmitted: false };
  return [new CompatResponse(req, state, socket) as unknown as ServerResponse, state];
}

function writeHead(this: ServerResponse, statusCode: number, reason?: string | OutgoingHttpHeaders | readonly unknown[], headers?: OutgoingHttpHeaders | readonly unknown[]) {
  if (this.headersSent) {
    throw Object.assign(new Error('Cannot write headers after they are sent to the client'), { code: 'ERR_HTTP_HEADERS_SENT' });
  }
  if (typeof reason !== 'string') {
    headers = reason;
    reason = undefined;
  }
  const status = Math.trunc(Number(statusCode));
  if (!(status >= 100 && status <= 999)) {
    throw Object.assign(new RangeError(`Invalid status code: ${String(statusCode)}`), { code: 'ERR_HTTP_INVALID_STATUS_CODE' });
  }
  this.statusCode = status;
  if (reason !== undefined) this.statusMessage = reason;
  if (noHeaderSet(this) && headers && !Array.isArray(headers)) {
    // The common case, as node:http has it: the head is these headers, checked, without setHeader().
    stateOf(this).head = checkedHead(headers as OutgoingHttpHeaders);
  } else if (Array.isArray(headers)) {
    // [name, value, name, value…] or [[name, value]…], as node takes them.
    if (Array.isArray(headers[0])) for (const [name, value] of headers as [string, string][]) this.appendHeader(name, value);
    else for (let index = 0; index < headers.length; index += 2) this.appendHeader(headers[index] as string, headers[index + 1] as string);
  } else if (headers) {
    for (const name of Object.keys(headers)) {
      const value = (headers as OutgoingHttpHeaders)[name];
      if (value !== undefined) this.setHeader(name, value);
    }
  }
  // From here on headersSent is true and setHeader() throws, as on node:http; they go out with the body.
  decideHead(this);
  return this;
}

// An app sends the same few header names over and over: each is checked, and lowercased, once.
const checkedNames = new Map<string, string>();

function checkedName(name: string): string {
  let lower = checkedNames.get(name);
  if (lower === undefined) {
    validateHeaderName(name); // node:http's check, and its error
    lower = name.toLowerCase();
    if (checkedNames.size < 256) checkedNames.set(name, lower);
  }
  return lower;
}

/** node:http's check of a header value (no control character but tab, nothing past U+00FF), as a loop. */
function checkValue(name: string, value: string): void {
  for (let index = 0; index < value.length; index++) {
    if (isInvalidHeaderValueCode(value.charCodeAt(index))) validateHeaderValue(name, value); // throws node:http's error
  }
}

/** Headers given to writeHead(), checked as node:http checks them, as a flat list with lowercase names. */
function checkedHead(headers: OutgoingHttpHeaders): string[] {
  const list: string[] = [];
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    const lower = checkedName(name);
    if (Array.isArray(value)) {
      for (const item of value) {
        const text = String(item);
        checkValue(name, text);
        list.push(lower, text);
      }
    } else {
      const text = String(value);
      checkValue(name, text);
      list.push(lower, text);
    }
  }
  return list;
}

function headerList(res: ServerResponse): string[] {
  const head = stateOf(res).head;
  if (head) return head;
  const list: string[] = [];
  const headers = res.getHeaders();
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (Array.isArray(value)) for (const item of value) list.push(name, String(item));
    else if (value !== undefined) list.push(name, String(value));
  }
  return list;
}

function statusText(res: ServerResponse): string {
  return res.statusMessage || STATUS_CODES[res.statusCode] || '';
}

/**
 * Decides the head when the app did not call writeHead(), as node:http does: through `_implicitHeader()`,
 * which calls `this.writeHead(this.statusCode)`, so that a writeHead patched on the instance runs
 * (on-headers: compression, express-session's Set-Cookie, morgan) and may still set headers.
 */
function implicitHead(res: ServerResponse): void {
  if (headDecided(res)) return;
  implicitHeader(res);
  if (!headDecided(res)) decideHead(res); // a patched writeHead that did not call through: the head is decided all the same
}

// Both are called once implicitHead() has decided the head.
function startStream(res: ServerResponse, state: ResponseState): void {
  state.flushed = true;
  state.exchange.startStream(res.statusCode, statusText(res), headerList(res));
}

/**
 * A HEAD response, whole: its head. node:http drops what the app writes for HEAD but keeps the
 * Content-Length it declared (RFC 9110 §9.3.2: the header fields GET would have), so a body is passed
 * only to tell the length GET would have when none was declared.
 */
function sendHeadResponse(res: ServerResponse, state: ResponseState, body: string | Uint8Array | null): Promise<void> | undefined {
  state.flushed = true;
  const headers = headerList(res);
  return state.exchange.respond(res.statusCode, statusText(res), headers, hasContentLength(headers) ? null : body);
}

const toBytes = (chunk: Chunk, encoding?: BufferEncoding): Uint8Array => (typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk);
/** A whole body as uWS takes it: a UTF-8 string as it is (uWS encodes it), anything else as bytes. */
const wholeBody = (chunk: Chunk, encoding?: BufferEncoding): string | Uint8Array =>
  typeof chunk === 'string' && (encoding === undefined || encoding === 'utf8' || encoding === 'utf-8') ? chunk : toBytes(chunk, encoding);

function write(res: ServerResponse, state: ResponseState, chunk: Chunk, encoding?: BufferEncoding | Callback, callback?: Callback): boolean {
  if (typeof encoding === 'function') {
    callback = encoding;
    encoding = undefined;
  }
  if (res.writableEnded) {
    const error = Object.assign(new Error('write after end'), { code: 'ERR_STREAM_WRITE_AFTER_END' });
    process.nextTick(() => {
      callback?.(error);
      if (res.listenerCount('error') > 0) res.emit('error', error);
    });
    return false;
  }
  if (chunk === undefined || chunk === null) throw Object.assign(new TypeError('The "chunk" argument must be of type string or an instance of Buffer or Uint8Array'), { code: 'ERR_INVALID_ARG_TYPE' });
  implicitHead(res);
  if (state.exchange.isHead) {
    // node:http writes nothing for HEAD, not even the head: it goes with end() or flushHeaders().
    if (callback) process.nextTick(callback);
    return true;
  }
  if (!state.flushed) startStream(res, state);
  const pending = state.exchange.write(toBytes(chunk, encoding));
  if (!pending) {
    if (callback) process.nextTick(callback);
    return true;
  }
  void pending.then(() => {
    callback?.();
    if (!res.destroyed) res.emit('drain');
  });
  return false;
}

function end(res: ServerResponse, state: ResponseState, chunk?: Chunk | Callback, encoding?: BufferEncoding | Callback, callback?: Callback): ServerResponse {
  if (typeof chunk === 'function') {
    callback = chunk;
    chunk = undefined;
  } else if (typeof encoding === 'function') {
    callback = encoding;
    encoding = undefined;
  }
  if (callback) res.once('finish', () => callback());
  if (res.writableEnded) return res;
  markFinished(res);
  const { exchange } = state;
  const finished = () => {
    if (exchange.aborted) return;
    process.nextTick(() => {
      if (state.closeEmitted) return;
      state.closeEmitted = true;
      res.emit('prefinish');
      res.emit('finish');
      res.emit('close');
    });
  };
  if (!state.flushed) {
    // The whole response is known: uWS frames it with its content-length.
    implicitHead(res);
    const bytes = chunk === undefined || chunk === null ? null : wholeBody(chunk, encoding as BufferEncoding | undefined);
    let pending: Promise<void> | undefined;
    if (exchange.isHead) {
      pending = sendHeadResponse(res, state, bytes);
    } else {
      state.flushed = true;
      const status = res.statusCode;
      pending = exchange.respond(status, statusText(res), headerList(res), bytes ?? (status === 204 || status === 304 ? null : new Uint8Array(0)));
    }
    if (pending) void pending.then(finished);
    else finished();
    return res;
  }
  if (chunk !== undefined && chunk !== null && !exchange.isHead) void exchange.write(toBytes(chunk, encoding as BufferEncoding | undefined));
  // After every chunk still queued for uWS (writes that met backpressure).
  const ended = exchange.end();
  if (ended) void ended.then(finished);
  else finished();
  return res;
}
