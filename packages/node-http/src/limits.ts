import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { errorCode, errorMessage, type Limits, type Logger, type NodeListener, refusal, refusalFor, type RequestHead } from '@chaussette/core';
import { headWritten, interceptBodyChunks, requestBeingParsed, responseUnderWay } from './node-internals.js';
import { isHttp2, NO_ERROR } from './node-request.js';
import type { NodeHttpServer } from './server-kinds.js';

/**
 * The limits node:http enforces itself: the size of a request head (431) and the timeouts (a head
 * that does not arrive in time gets 408); and one answer per request to what it cannot parse (see
 * answerClientErrorsOnce). Call before listen(), once the server has its own 'clientError' listener (Fastify's).
 */
export function applyServerLimits(nodeServer: NodeHttpServer, limits: Limits): void {
  // An http2 server with allowHTTP1 reads these for its HTTP/1.1 connections, as node:http's does.
  const server = nodeServer as Server;
  answerClientErrorsOnce(server);
  // refusalOf() checks Host (RFC 9112 §3.2), and closes the connection after: node:http's own check
  // reads on, and hands the app a request pipelined behind the refused one.
  (server as Server & { requireHostHeader: boolean }).requireHostHeader = false;
  // One field more than the limit, so that refusalFor() sees a request that has too many: an older
  // node:http drops the fields past maxHeadersCount, a newer one answers 431 itself. 0: node keeps all.
  server.maxHeadersCount = limits.requestFields ? limits.requestFields + 1 : 0;
  const tunable = server as Server & { maxHeaderSize?: number; connectionsCheckingInterval: number };
  tunable.maxHeaderSize = limits.requestHeadersBytes;
  server.headersTimeout = limits.headersTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // node:http looks for late heads only this often, 30 s by default: a slow client would get twice its time.
  if (limits.headersTimeoutMs) tunable.connectionsCheckingInterval = Math.min(Math.max(limits.headersTimeoutMs / 4, 100), 30_000);
}

/**
 * Chaussette's limits (see Limits) on a server of any NodeHttpServer kind, whatever listens to its
 * requests: the ones node:http enforces itself, and limitedListener() in front of each 'request'
 * listener (the app's, or Fastify's), for HTTP/1.1 requests and HTTP/2 streams alike. Call it once the
 * server has its request listeners, before listen().
 */
export function limitServer(server: NodeHttpServer, limits: Limits): void {
  applyServerLimits(server, limits);
  const listeners = server.listeners('request') as NodeListener[];
  server.removeAllListeners('request');
  for (const listener of listeners) server.on('request', limitedListener(listener, limits));
}

export type ClientError = Error & { code?: string };
type ClientErrorListener = (error: ClientError, socket: Duplex) => void;

// node:http's own statuses for bytes it cannot parse (socketOnError in its lib/_http_server.js); 400 for the others.
const CLIENT_ERROR_STATUS: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

/**
 * The answer to bytes node:http cannot parse, worded as every refusal is (see refusal): node:http's
 * status, and the connection closed. Fastify's clientErrorHandler too, whose own answer is JSON.
 */
export function answerClientError(error: ClientError, socket: Duplex): void {
  const status = CLIENT_ERROR_STATUS[error.code ?? ''] ?? 400;
  if (socket.writable && error.code !== 'ECONNRESET') {
    const { headers, body } = refusal(status);
    const fields = Object.entries({ ...headers, 'content-length': String(Buffer.byteLength(body)) }).map(([name, value]) => `${name}: ${value}\r\n`);
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${fields.join('')}\r\n${body}`);
  }
  socket.destroy(error);
}
const closing = new WeakSet<Duplex>();
const answeringOnce = new WeakSet<Server>();

/**
 * One answer per request when node:http cannot parse a client's bytes ('clientError'). node:http
 * answers 400 (431, 408…) and closes, unless a response on the socket has written its head; Fastify's
 * handler answers whatever is on the socket. A request whose response is out before its chunked body
 * turns out malformed (an app that answers without reading it, Fastify's own 400 to a bad URL) gets
 * both: the client takes the 400 for the answer to its next request. Once a request has its answer,
 * or one is under way, a parse error now closes the connection without another (after the bytes
 * already written, when the answer is complete); the others get the server's own handler (Fastify's,
 * or the app's clientErrorHandler), or node:http's answer.
 */
export function answerClientErrorsOnce(server: Server): void {
  if (answeringOnce.has(server)) return;
  answeringOnce.add(server);
  const handlers = server.listeners('clientError') as ClientErrorListener[];
  server.removeAllListeners('clientError');
  server.on('clientError', (error: ClientError, socket: Duplex) => {
    if (socket.destroyed || closing.has(socket)) return; // node:http reports each later read of a broken parser too
    const current = responseUnderWay(socket);
    if (error.code === 'HPE_CLOSED_CONNECTION') {
      // Bytes after a request that said `Connection: close`: not read (RFC 9112 §9.6); its answer, under
      // way or sent, closes the connection.
      closing.add(socket);
      if (!current) (socket as Socket).destroySoon();
    } else if (current && headWritten(current)) {
      socket.destroy(); // the answer is on the wire: cut, as node:http does (headersSent is true from writeHead() on)
    } else if (!current && answeredBeforeItsBody(socket)) {
      closing.add(socket);
      (socket as Socket).destroySoon(); // once the answer's last bytes are out
    } else if (handlers.length > 0) {
      for (const handler of handlers) handler.call(server, error, socket);
    } else {
      answerClientError(error, socket);
    }
  });
}

/**
 * The bytes node:http could not parse are the body of a request that has been answered: no response
 * is on the socket (node:http takes a finished one off, and queues later ones behind the current one),
 * and the request it parses last has not ended.
 */
function answeredBeforeItsBody(socket: Duplex): boolean {
  const incoming = requestBeingParsed(socket);
  return incoming != null && !incoming.complete;
}

const NO_LENGTH: readonly string[] = [];

/**
 * The limits checked per request, before `listener` sees it: the request line (414), the body's
 * declared length (413), requests in flight (503); a chunked body that grows past its limit is cut
 * (413 if the app has not answered yet). An HTTP/2 stream is judged the same way (see streamRefusal),
 * and every body it sends is counted; a refused stream is answered and reset, its session goes on.
 */
export function limitedListener(listener: NodeListener, limits: Limits): NodeListener {
  const { requestBodyBytes, concurrency } = limits;
  let inFlight = 0;
  const leave = () => void inFlight--;
  // Apart from the HTTP/1.1 path, which stays as small as it was (and as cheap to optimise).
  const limitedStream: NodeListener = (req, res) => {
    const status = streamRefusal(req as unknown as Http2ServerRequest, limits, inFlight);
    if (status) return refuse(res, status);
    if (concurrency) {
      inFlight++;
      res.once('close', leave);
    }
    if (requestBodyBytes) capBody(req, res, requestBodyBytes);
    return listener(req, res);
  };
  return (req, res) => {
    if (isHttp2(req)) return limitedStream(req, res);
    // Pipelined behind a refused request, read from the same bytes: it gets no answer, the connection
    // closes after the refusal (a smuggled request must not reach the app).
    if (refusedConnections.has(req.socket)) return;
    const head = requestHead(req, inFlight);
    const status = refusalFor(head, limits);
    if (status) {
      refusedConnections.add(req.socket);
      return refuse(res, status);
    }
    const chunked = head.transferEncodings.length > 0;
    if (concurrency) {
      inFlight++;
      res.once('close', leave);
    }
    if (requestBodyBytes && chunked) capBody(req, res, requestBodyBytes);
    return listener(req, res);
  };
}

const refusedConnections = new WeakSet<Duplex>();

/** The status refusing this request or HTTP/2 stream (see refusalFor), 0 if it may go on. */
export function refusalOf(req: IncomingMessage | Http2ServerRequest, limits: Limits, inFlight: number): number {
  return isHttp2(req) ? streamRefusal(req, limits, inFlight) : refusalFor(requestHead(req, inFlight), limits);
}

/**
 * refusalFor() for an HTTP/2 stream, judged as the HTTP/1.1 request it stands for: its fields without
 * the pseudo-headers (431 past requestFields), its head as many bytes as HTTP/1.1's would take (431 past
 * requestHeadersBytes), `:authority` as its Host (400 when missing or invalid, or when a Host field says
 * otherwise: RFC 9113 §8.3.1), `:path` as its target. The framing is HTTP/2's own: nghttp2 refuses a
 * Transfer-Encoding, and a Content-Length the DATA frames do not match.
 */
function streamRefusal(req: Http2ServerRequest, limits: Limits, inFlight: number): number {
  const raw = req.rawHeaders;
  let contentLengths: string[] | undefined;
  let authority: string | undefined;
  let host: string | undefined;
  let fields = 0;
  let bytes = STATUS_LINE_BYTES;
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index]!;
    const value = raw[index + 1]!;
    bytes += name.length + value.length + 4; // `: ` and CRLF
    if (name.charCodeAt(0) === 0x3a) {
      if (name === ':authority') authority = value;
      continue;
    }
    fields++;
    if (name === 'host') host ??= value;
    else if (name === 'content-length') (contentLengths ??= []).push(value);
  }
  if (limits.requestHeadersBytes && bytes > limits.requestHeadersBytes) return 431;
  const hosts = authority === undefined ? (host === undefined ? NO_LENGTH : [host]) : host === undefined || host === authority ? [authority] : [authority, host];
  return refusalFor(
    { method: req.method, url: req.url, contentLengths: contentLengths ?? NO_LENGTH, transferEncodings: NO_LENGTH, hosts, fields, inFlight },
    limits,
  );
}

// ` HTTP/1.1` and the CRLF the request line would end with.
const STATUS_LINE_BYTES = 11;

/**
 * What refusalFor() reads of a request, from its raw headers: every Content-Length, Transfer-Encoding
 * and Host field (req.headers keeps the first Host only), without building req.headers, which node:http
 * does on first use, at a cost per request that an app reading no header need not pay.
 */
function requestHead(req: IncomingMessage, inFlight: number): RequestHead {
  const raw = req.rawHeaders;
  let contentLengths: string[] | undefined;
  let transferEncodings: string[] | undefined;
  let hosts: string[] | undefined;
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index]!;
    if (name.length === 4 && isNamed(name, 'host', 'Host')) (hosts ??= []).push(raw[index + 1]!);
    else if (name.length === 14 && isNamed(name, 'content-length', 'Content-Length')) (contentLengths ??= []).push(raw[index + 1]!);
    else if (name.length === 17 && isNamed(name, 'transfer-encoding', 'Transfer-Encoding')) (transferEncodings ??= []).push(raw[index + 1]!);
  }
  return {
    method: req.method!,
    url: req.url!,
    contentLengths: contentLengths ?? NO_LENGTH,
    transferEncodings: transferEncodings ?? NO_LENGTH,
    hosts: hosts ?? NO_LENGTH,
    fields: raw.length / 2,
    httpVersion: req.httpVersion,
    inFlight,
  };
}

/** A header name, compared case-insensitively: its two usual spellings first, which need no lowercase copy. */
export function isNamed(name: string, lower: string, capitalized: string): boolean {
  return name === lower || name === capitalized || name.toLowerCase() === lower;
}

/**
 * Answers `status` (see refusal) and closes the connection: the request's body, if any, is not read.
 * An HTTP/2 stream is reset instead, once the answer is out (NO_ERROR: RFC 9113 §8.1 lets a server
 * stop a request it answered); its session and the other streams go on.
 */
export function refuse(res: ServerResponse | Http2ServerResponse, status: number): void {
  const { headers, body } = refusal(status);
  if (isHttp2Response(res)) {
    const { connection: _connectionSpecific, ...fields } = headers;
    res.writeHead(status, { ...fields, 'content-length': Buffer.byteLength(body) });
    res.end(body);
    res.stream.close(NO_ERROR);
    return;
  }
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function isHttp2Response(res: ServerResponse | Http2ServerResponse): res is Http2ServerResponse {
  return (res as Partial<Http2ServerResponse>).stream !== undefined;
}

function capBody(req: IncomingMessage, res: ServerResponse, limit: number): void {
  let received = 0;
  interceptBodyChunks(req, (chunk) => {
    if ((received += chunk.length) <= limit) return true;
    const http2 = isHttp2(req);
    // node:http reads on past the rest of the body: a request pipelined behind it must not reach the app.
    if (!http2) refusedConnections.add(req.socket);
    if (res.headersSent) res.destroy();
    else refuse(res, 413);
    // The rest of the body is dropped, so req would never end: a read of it fails instead, once the
    // refusal is out (destroying req destroys its socket). node:http2's request emits the error even
    // with no listener, which would end the process: without one, it just closes.
    const overLimit = new Error("The request body is over the server's limit (--limit-request-body)");
    res.once('close', () => req.destroy(!http2 || req.listenerCount('error') > 0 ? overLimit : undefined));
    return false;
  });
}

const ACCEPT_ERROR_INTERVAL_MS = 5000;

/**
 * A server that cannot accept a connection says so, at most every few seconds, and goes on: without a
 * listener, node:http's 'error' event would end the process. Out of file descriptors (EMFILE), libuv
 * itself closes the waiting connections with a spare descriptor and reports nothing, unless that fails.
 */
export function reportAcceptErrors(server: Server, logger: Logger): void {
  let reported = 0;
  server.on('error', (error) => {
    if (Date.now() - reported < ACCEPT_ERROR_INTERVAL_MS) return;
    reported = Date.now();
    const code = errorCode(error);
    const hint =
      code === 'EMFILE' || code === 'ENFILE'
        ? ': out of file descriptors, so new connections are dropped until some close. Raise the limit (ulimit -n, LimitNOFILE= in systemd, minfds in Supervisor) or lower --limit-concurrency'
        : '';
    logger.warn(`Cannot accept a connection: ${errorMessage(error)}${hint}`);
  });
}
