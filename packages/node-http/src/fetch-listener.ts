import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  bodyUntouched,
  byteLength,
  callFetch,
  describeValue,
  discardResponse,
  type FetchHandler,
  type FetchServer,
  isResponse,
  type Logger,
  type NodeListener,
  partsOf,
  recycleBody,
  respondWithError,
} from '@chaussette/core';
import { createRequest } from './node-request.js';

type Parts = ReturnType<typeof partsOf>;

/** How long a fetch app's answer waits for the rest of a chunked body it did not read (see sendAfterBody). */
export const BODY_WAIT_MS = 1000;

/** Serves a fetch handler on node:http: a lazy Request in, the Response written back with backpressure. */
export function fetchListener(fetch: FetchHandler, logger: Logger, origin: () => string, server: FetchServer): NodeListener {
  return (req, res) => {
    const request = createRequest(req, res, origin());
    callFetch(
      fetch,
      request,
      server,
      (response) => {
        // A chunked body may still turn out malformed: a request whose body has come in cannot.
        if (req.complete || req.headers['transfer-encoding'] === undefined) sendResponse(response, req, res, logger);
        else sendAfterBody(response, request, req, res, logger);
      },
      (error) => respondWithError(req, res, error, logger),
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
function sendAfterBody(response: Response | undefined, request: Request, req: IncomingMessage, res: ServerResponse, logger: Logger): void {
  if (!isResponse(response) || res.destroyed || res.headersSent || !bodyUntouched(request)) {
    sendResponse(response, req, res, logger);
    return;
  }
  let parts: Parts;
  try {
    parts = partsOf(response);
  } catch (error) {
    respondWithError(req, res, error, logger); // an invalid header from the app, as writeResponse() has it
    return;
  }
  if (parts.body === undefined) {
    sendResponse(response, req, res, logger, parts);
    return;
  }
  const whole = parts.body;
  const settle = () => {
    clearTimeout(timer);
    req.off('end', settle);
    res.off('close', settle);
    if (res.destroyed || res.headersSent) recycleBody(whole); // refused meanwhile (400, 413), or the client left
    else sendResponse(response, req, res, logger, parts);
  };
  const timer = setTimeout(settle, BODY_WAIT_MS);
  req.once('end', settle);
  res.once('close', settle);
  req.resume();
}

/**
 * Writes the app's Response; anything else (or a Response node:http refuses) becomes a 500. `taken`:
 * its parts, when the caller has taken them already (partsOf() takes a body only once).
 */
export function sendResponse(response: Response | undefined, req: IncomingMessage, res: ServerResponse, logger: Logger, taken?: Parts): void {
  try {
    writeResponse(response, req, res, logger, taken);
  } catch (error) {
    // An invalid header name or value from the app surfaces here, from writeHead().
    respondWithError(req, res, error, logger);
  }
}

function writeResponse(response: Response | undefined, req: IncomingMessage, res: ServerResponse, logger: Logger, taken?: Parts): void {
  if (!isResponse(response)) {
    respondWithError(req, res, new TypeError(`The fetch handler returned ${describeValue(response)}, not a Response`), logger);
    return;
  }
  if (res.destroyed) {
    // The client is gone: stop the app's stream, if it has one.
    if (!taken) discardResponse(response);
    else if (taken.body !== undefined) recycleBody(taken.body);
    else void (taken.stream ?? response.body)?.cancel().catch(() => {});
    return;
  }
  const isHead = req.method === 'HEAD';
  const parts = taken ?? partsOf(response);
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
  const body = parts.stream ?? response.body;
  if (body === null || isHead) {
    res.writeHead(parts.status, statusText, headers);
    res.end();
    void body?.cancel().catch(() => {});
    return;
  }
  const reader = body.getReader(); // throws for a body already read: a 500, before any header is sent
  res.writeHead(parts.status, statusText, headers);
  streamBody(reader, res, (error) => {
    logger.error({ err: error }, `Error while streaming the response to ${req.method} ${req.url}`);
    res.destroy();
  });
}

/**
 * Writes the app's stream as it comes, waiting for 'drain' when node:http has enough queued. Callbacks,
 * not an async loop: a promise per chunk less, which a 1 MiB stream of 64 KiB chunks notices.
 */
function streamBody(reader: ReadableStreamDefaultReader<Uint8Array>, res: ServerResponse, fail: (error: unknown) => void): void {
  const cancel = () => void reader.cancel().catch(() => {});
  res.once('close', cancel); // the client went away: stop the app's stream
  // A first chunk ready in this turn of the event loop goes out with the headers, in one write; a
  // slower stream (server-sent events) shows its headers at the end of the turn, before its first chunk.
  const flushHeaders = setImmediate(() => res.destroyed || res.flushHeaders());
  const read = () => void reader.read().then(write, failed);
  const failed = (error: unknown) => {
    clearImmediate(flushHeaders);
    res.off('close', cancel);
    fail(error);
  };
  const write = ({ done, value }: Awaited<ReturnType<typeof reader.read>>) => {
    clearImmediate(flushHeaders);
    if (res.destroyed) return; // 'close' has cancelled the stream
    if (done) {
      res.off('close', cancel);
      res.end();
      return;
    }
    try {
      if (res.write(value)) read();
      else res.once('drain', read); // no 'drain' once the client is gone: 'close' cancels instead
    } catch (error) {
      cancel();
      failed(error); // not bytes (an app that enqueued an object)
    }
  };
  read();
}
