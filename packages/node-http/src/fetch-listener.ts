import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import {
  bodyUntouched,
  byteLength,
  callFetch,
  type FetchHandler,
  type FetchServer,
  hasContentLength,
  isResponse,
  type Logger,
  type NodeListener,
  partsOf,
  recycleBody,
  respondWithAppError,
  type ResponseSink,
  type SendableParts,
  sendResponse,
} from '@chaussette/core';
import { createRequest, isHttp2, onStreamCutShort } from './node-request.js';

/** How long a fetch app's answer waits for the rest of a chunked body it did not read (see sendAfterBody). */
export const BODY_WAIT_MS = 1000;

/**
 * Serves a fetch handler on node:http, or on node:http2's compatibility API: a lazy Request in, the
 * Response sent through core's send path.
 */
export function fetchListener(fetch: FetchHandler, logger: Logger, origin: () => string, server: FetchServer): NodeListener {
  return (req, res) => {
    const request = createRequest(req, res, origin());
    const http2 = isHttp2(req);
    const sink = http2 ? new Http2ResponseSink(req, res) : new NodeResponseSink(req, res);
    callFetch(
      fetch,
      request,
      server,
      (response) => {
        // A chunked body may still turn out malformed: a request whose body has come in cannot, nor an
        // HTTP/2 stream's, whose framing is the stream's.
        if (http2 || req.complete || req.headers['transfer-encoding'] === undefined) sendResponse(response, sink, logger);
        else sendAfterBody(response, request, sink, logger);
      },
      (error) => respondWithAppError(sink, error, logger),
    );
  };
}

/**
 * The app answered before the rest of a chunked body, and has not read it. node:http would send the
 * answer, then discard the body; if that turns out malformed, its 400 follows the app's 2xx: two
 * answers to one request. So a Response whose body is known whole (not a stream, which could carry the
 * request's) waits until the body is in, discarded here as node:http would after the answer: a malformed
 * body gets its 400 alone, and the connection closes (see answerClientErrorsOnce); past the body limit,
 * the 413 alone. It waits BODY_WAIT_MS at most (a slow client, a long upload): then it goes out, as
 * node:http sends a node listener's, and a malformed end of the body closes the connection without
 * another answer.
 */
function sendAfterBody(response: Response | undefined, request: Request, sink: NodeResponseSink, logger: Logger): void {
  const { req, res } = sink;
  if (!isResponse(response) || res.destroyed || res.headersSent || !bodyUntouched(request)) {
    sendResponse(response, sink, logger);
    return;
  }
  let parts: SendableParts;
  try {
    parts = partsOf(response);
  } catch (error) {
    respondWithAppError(sink, error, logger); // a body read already, an invalid header
    return;
  }
  if (parts.body === undefined) {
    sendResponse(response, sink, logger, parts);
    return;
  }
  const whole = parts.body;
  const settle = () => {
    clearTimeout(timer);
    req.off('end', settle);
    res.off('close', settle);
    if (res.destroyed || res.headersSent) recycleBody(whole); // refused meanwhile (400, 413), or the client left
    else sendResponse(response, sink, logger, parts);
  };
  const timer = setTimeout(settle, BODY_WAIT_MS);
  req.once('end', settle);
  res.once('close', settle);
  req.resume();
}

/** A ResponseSink (see core's send-response.ts) over node:http's response. */
export class NodeResponseSink implements ResponseSink {
  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {}

  get method(): string {
    return this.req.method ?? 'GET';
  }
  get url(): string {
    return this.req.url ?? '/';
  }
  get aborted(): boolean {
    return this.res.destroyed;
  }
  get headersSent(): boolean {
    return this.res.headersSent;
  }

  respond(status: number, statusText: string, headers: string[], body: string | Uint8Array | null): Promise<void> | undefined {
    const res = this.res;
    if (body !== null && !hasContentLength(headers)) headers.push('content-length', String(byteLength(body)));
    res.writeHead(status, statusText || undefined, headers);
    if (body === null || this.req.method === 'HEAD') res.end();
    else if (typeof body === 'string') res.end(body);
    else return new Promise((resolve) => res.end(body, resolve)); // 'finish': the bytes are out of node's hands
    return undefined;
  }

  startStream(status: number, statusText: string, headers: string[]): void {
    this.res.writeHead(status, statusText || undefined, headers);
  }

  flushHead(): void {
    this.res.flushHeaders();
  }

  write(chunk: Uint8Array): Promise<void> | undefined {
    // No 'drain' once the client is gone: its abort listener has cancelled the stream instead.
    return this.res.write(chunk) ? undefined : new Promise((resolve) => this.res.once('drain', resolve));
  }

  end(): void {
    this.res.end();
  }

  destroy(): void {
    this.res.destroy();
  }

  onAbort(listener: () => void): void {
    if (this.res.destroyed) listener();
    else this.res.once('close', () => this.res.writableFinished || listener());
  }
}

/**
 * A ResponseSink over node:http2's compatibility API: HTTP/2 has no reason phrase (node warns about one),
 * and refuses the fields that only mean something to an HTTP/1.1 connection (it throws on them): a fetch
 * app written for HTTP/1.1 that sets them gets its response without them.
 */
class Http2ResponseSink extends NodeResponseSink {
  override get aborted(): boolean {
    return (this.res as unknown as Http2ServerResponse).stream.destroyed;
  }

  override respond(status: number, _statusText: string, headers: string[], body: string | Uint8Array | null): Promise<void> | undefined {
    return super.respond(status, '', withoutConnectionFields(headers), body);
  }

  override startStream(status: number, _statusText: string, headers: string[]): void {
    super.startStream(status, '', withoutConnectionFields(headers));
  }

  override onAbort(listener: () => void): void {
    onStreamCutShort(this.res as unknown as Http2ServerResponse, listener);
  }
}

// RFC 9113 §8.2.2, and what node:http2 refuses: `te` is a request field, and only `trailers` is allowed in it.
const CONNECTION_FIELDS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** The flat header list without connection-specific fields: the same list when it has none (the usual case). */
function withoutConnectionFields(headers: string[]): string[] {
  for (let index = 0; index < headers.length; index += 2) {
    if (CONNECTION_FIELDS.has(headers[index]!)) return headers.filter((_, at) => !CONNECTION_FIELDS.has(headers[at - (at % 2)]!));
  }
  return headers;
}
