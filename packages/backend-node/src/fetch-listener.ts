import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeValue, type FetchHandler, type Logger, type NodeListener, type ResponseParts, responseParts } from '@chaussette/core';
import { createRequest } from './lazy-request.js';
import { respondWithError } from './errors.js';

// RFC 3986 host (IP literal, IPv4 or registered name) and an optional port.
const VALID_HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::\d{1,5})?$/;

/** Serves a fetch handler on node:http: a lazy Request in, the Response written back with backpressure. */
export function fetchListener(fetch: FetchHandler, logger: Logger, origin: () => string): NodeListener {
  return (req, res) => {
    const host = req.headers.host;
    if (host && !VALID_HOST.test(host)) {
      // It would become part of request.url, and could change the path the app sees (`Host: x/admin#`).
      res.writeHead(400, { 'content-type': 'text/plain', connection: 'close' }).end('Bad Request: invalid Host header\n');
      return;
    }
    let result: Response | Promise<Response>;
    try {
      result = fetch(createRequest(req, res, origin()));
    } catch (error) {
      respondWithError(req, res, error, logger);
      return;
    }
    if (result instanceof Response) {
      sendResponse(result, req, res, logger);
    } else {
      Promise.resolve(result).then(
        (response) => sendResponse(response, req, res, logger),
        (error: unknown) => respondWithError(req, res, error, logger),
      );
    }
  };
}

function sendResponse(response: Response, req: IncomingMessage, res: ServerResponse, logger: Logger): void {
  try {
    writeResponse(response, req, res, logger);
  } catch (error) {
    // An invalid header name or value from the app surfaces here, from writeHead().
    respondWithError(req, res, error, logger);
  }
}

function writeResponse(response: Response, req: IncomingMessage, res: ServerResponse, logger: Logger): void {
  if (!isResponse(response)) {
    respondWithError(req, res, new TypeError(`The fetch handler returned ${describeValue(response)}, not a Response`), logger);
    return;
  }
  if (res.destroyed) {
    // The client is gone: stop the app's stream, if it has one.
    if (!responseParts(response)) void response.body?.cancel().catch(() => {});
    return;
  }
  const isHead = req.method === 'HEAD';
  const parts = partsOf(response);
  const statusText = parts.statusText || undefined;
  const headers = parts.headers;
  if (parts.body !== undefined) {
    if (parts.body !== null && !parts.hasContentLength) headers.push('content-length', String(byteLength(parts.body)));
    res.writeHead(parts.status, statusText, headers);
    res.end(isHead || parts.body === null ? undefined : parts.body);
    return;
  }
  const body = response.body;
  if (body === null || isHead) {
    res.writeHead(parts.status, statusText, headers);
    res.end();
    void body?.cancel().catch(() => {});
    return;
  }
  const reader = body.getReader(); // throws for a body already read: a 500, before any header is sent
  res.writeHead(parts.status, statusText, headers);
  res.flushHeaders(); // a streamed response (server-sent events) shows its headers before its first chunk
  streamBody(reader, res).catch((error: unknown) => {
    logger.error({ err: error }, `Error while streaming the response to ${req.method} ${req.url}`);
    res.destroy();
  });
}

async function streamBody(reader: ReadableStreamDefaultReader<Uint8Array>, res: ServerResponse): Promise<void> {
  const cancel = () => void reader.cancel().catch(() => {});
  res.once('close', cancel); // the client went away: stop the app's stream
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) return;
      if (!res.write(value)) await drained(res);
    }
    res.end();
  } finally {
    res.off('close', cancel);
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Status and headers, and the whole body when it is known without reading a stream (chaussette's
 * Response, or undici's made from a string or bytes); body undefined means: stream it.
 */
function partsOf(response: Response): Omit<ResponseParts, 'body'> & { body: ResponseParts['body'] | undefined } {
  const kept = responseParts(response);
  if (kept) return kept;
  const headers: string[] = [];
  let hasContentLength = false;
  for (const [name, value] of response.headers) {
    headers.push(name, value);
    if (name === 'content-length') hasContentLength = true;
  }
  return { status: response.status, statusText: response.statusText, headers, hasContentLength, body: wholeBody(response) };
}

function byteLength(body: string | Uint8Array): number {
  return typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
}

function isResponse(value: unknown): value is Response {
  if (value instanceof Response) return true;
  const candidate = value as Partial<Response> | null;
  return typeof candidate?.status === 'number' && typeof candidate.headers?.forEach === 'function' && 'body' in candidate;
}

// undici keeps the string or bytes a Response was made from; sending them skips reading its stream.
const undiciState = Object.getOwnPropertySymbols(new Response('')).find((symbol) => symbol.description === 'state');

/** The complete body when it is known without reading the stream; null for no body; undefined to stream. */
function wholeBody(response: Response): string | Uint8Array | null | undefined {
  if (undiciState === undefined || response.bodyUsed) return undefined;
  const body = (response as unknown as Record<symbol, { body?: { source?: unknown; stream?: ReadableStream } | null }>)[undiciState]?.body;
  if (body === null) return null;
  const source = body?.source;
  if ((typeof source === 'string' || source instanceof Uint8Array) && body?.stream?.locked === false) return source;
  return undefined;
}
