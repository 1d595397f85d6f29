import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeValue, discardResponse, type FetchHandler, type FetchServer, type Logger, type NodeListener, recycleBody } from '@chaussette/core';
import { byteLength, isResponse, isValidHost, partsOf } from './response-parts.js';
import { createRequest } from './lazy-request.js';
import { respondWithError } from './errors.js';


/** Serves a fetch handler on node:http: a lazy Request in, the Response written back with backpressure. */
export function fetchListener(fetch: FetchHandler, logger: Logger, origin: () => string, server: FetchServer): NodeListener {
  return (req, res) => {
    const host = req.headers.host;
    if (host && !isValidHost(host)) {
      // It would become part of request.url, and could change the path the app sees (`Host: x/admin#`).
      res.writeHead(400, { 'content-type': 'text/plain', connection: 'close' }).end('Bad Request: invalid Host header\n');
      return;
    }
    callFetch(
      fetch,
      createRequest(req, res, origin()),
      server,
      (response) => sendResponse(response, req, res, logger),
      (error) => respondWithError(req, res, error, logger),
    );
  };
}

/** Calls the app's fetch, and `then` with its result: at once when it returned a Response, not a promise. */
export function callFetch(
  fetch: FetchHandler,
  request: Request,
  server: FetchServer,
  then: (result: Response | undefined) => void,
  fail: (error: unknown) => void,
): void {
  let result: Response | undefined | Promise<Response | undefined>;
  try {
    result = fetch(request, server);
  } catch (error) {
    fail(error);
    return;
  }
  if (result instanceof Response) then(result);
  else Promise.resolve(result).then(then, fail);
}

/** Writes the app's Response; anything else (or a Response node:http refuses) becomes a 500. */
export function sendResponse(response: Response | undefined, req: IncomingMessage, res: ServerResponse, logger: Logger): void {
  try {
    writeResponse(response, req, res, logger);
  } catch (error) {
    // An invalid header name or value from the app surfaces here, from writeHead().
    respondWithError(req, res, error, logger);
  }
}

function writeResponse(response: Response | undefined, req: IncomingMessage, res: ServerResponse, logger: Logger): void {
  if (!isResponse(response)) {
    respondWithError(req, res, new TypeError(`The fetch handler returned ${describeValue(response)}, not a Response`), logger);
    return;
  }
  if (res.destroyed) {
    discardResponse(response); // the client is gone: stop the app's stream, if it has one
    return;
  }
  const isHead = req.method === 'HEAD';
  const parts = partsOf(response);
  const statusText = parts.statusText || undefined;
  const headers = parts.headers;
  if (parts.body !== undefined) {
    if (parts.body !== null && !parts.hasContentLength) headers.push('content-length', String(byteLength(parts.body)));
    res.writeHead(parts.status, statusText, headers);
    const body = parts.body;
    if (isHead || body === null) {
      res.end();
      recycleBody(body); // never written
    } else if (typeof body === 'string') {
      res.end(body);
    } else {
      res.end(body, () => recycleBody(body)); // 'finish': the bytes are out of node's hands
    }
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

