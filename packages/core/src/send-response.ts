// How a fetch app's answer becomes a response, on every engine: from what the app's fetch returned to
// the head, the body whole or streamed with backpressure, the errors before and after the head, and the
// client leaving. A backend implements ResponseSink over its engine's response and calls sendResponse().
import type { Logger } from './backend.js';
import { recycleBody } from './body-pool.js';
import { describeValue } from './detect-app.js';
import { errorMessage } from './errors.js';
import { INTERNAL_ERROR_BODY } from './guarded-listener.js';
import { discardResponse, flatHeaderList, hasContentLength, type ResponseParts, responseParts, streamedResponseParts } from './fast-response.js';
import { undiciBodySource } from './undici-internals.js';

/** One request's response on an engine: what sendResponse() writes a fetch app's Response through. */
export interface ResponseSink {
  /** The request's method and target, for the log. */
  readonly method: string;
  readonly url: string;
  /** The client has gone away: nothing more reaches it. */
  readonly aborted: boolean;
  /** The head went out (or to the engine): too late for another status. */
  readonly headersSent: boolean;
  /**
   * Sends a whole response. The engine frames it: a Content-Length from the body unless `headers` has
   * one; for a HEAD request, the head only. Returns a promise while the engine still reads `body`.
   */
  respond(status: number, statusText: string, headers: string[], body: string | Uint8Array | null): Promise<void> | undefined;
  /** Writes the head of a response whose body follows in chunks: chunked, unless `headers` has a Content-Length. */
  startStream(status: number, statusText: string, headers: string[]): void;
  /** The first chunk is late (server-sent events): let the head reach the client now, if the engine can. */
  flushHead(): void;
  /** Writes one chunk; returns a promise when the engine is full, that resolves once it takes more. */
  write(chunk: Uint8Array): Promise<void> | undefined;
  /** Ends a streamed body. */
  end(): void;
  /** Cuts the connection: the client sees a broken response, not a short one. */
  destroy(): void;
  /** Calls `listener` once the client has gone away (at once if it has). */
  onAbort(listener: () => void): void;
}

const ignore = () => {};

/** A Response's status and headers, and its body: whole (`body`), or, `body` undefined, to stream from `stream` (null: none). */
export type SendableParts = Omit<ResponseParts, 'body'> & { body: ResponseParts['body'] | undefined; stream?: ReadableStream<Uint8Array> | null };

/**
 * Status and headers, and the whole body when it is known without reading a stream (chaussette's
 * Response, or undici's made from a string or bytes); body undefined means: stream it, from `stream`.
 * The caller takes the body.
 */
export function partsOf(response: Response): SendableParts {
  const kept = responseParts(response);
  if (kept) return kept;
  const streamed = streamedResponseParts(response);
  if (streamed) return { ...streamed, body: undefined };
  const body = undiciBodySource(response);
  // The body before the headers: a Response-like object (srvx's FastResponse, which h3 answers with)
  // settles its headers, the default Content-Type among them, once its body is asked for.
  const stream = body === undefined ? response.body : undefined;
  const headers = flatHeaderList(response.headers);
  return { status: response.status, statusText: response.statusText, headers, hasContentLength: hasContentLength(headers), body, stream };
}

/** A Response, or an object shaped like one (from another realm, or a polyfill). */
export function isResponse(value: unknown): value is Response {
  if (value instanceof Response) return true;
  const candidate = value as Partial<Response> | null;
  return typeof candidate?.status === 'number' && typeof candidate.headers?.forEach === 'function' && 'body' in candidate;
}

/**
 * Sends what the app's fetch returned: a Response (chaussette's, undici's, a subclass, or one shaped
 * like it), or a 500 for anything else. `taken`: the Response's parts, when the caller took them already
 * (partsOf() hands a body over once).
 */
export function sendResponse(response: unknown, sink: ResponseSink, logger: Logger, taken?: SendableParts): void {
  // chaussette's own Response with a body known whole, the common case, first.
  let parts: SendableParts | undefined = taken ?? responseParts(response as Response);
  if (parts === undefined) {
    if (!isResponse(response)) {
      respondWithAppError(sink, new TypeError(`The fetch handler returned ${describeValue(response)}, not a Response`), logger);
      return;
    }
    if (sink.aborted) {
      discardResponse(response);
      return;
    }
    try {
      parts = partsOf(response);
    } catch (error) {
      respondWithAppError(sink, error, logger); // a body already read, an invalid header
      return;
    }
  } else if (sink.aborted) {
    discardParts(parts);
    return;
  }
  if (parts.status === 0) {
    discardParts(parts);
    respondWithAppError(sink, new TypeError('The fetch handler returned Response.error(), a network error'), logger);
    return;
  }
  try {
    if (parts.body !== undefined) {
      sendWhole(parts.status, parts.statusText, parts.headers, parts.body, sink);
      return;
    }
    const stream = parts.stream ?? null;
    if (stream === null || sink.method === 'HEAD') {
      void sink.respond(parts.status, parts.statusText, parts.headers, null);
      void stream?.cancel().catch(ignore);
    } else {
      sendStream(stream.getReader(), parts, sink, logger); // getReader() throws for a body the app read already
    }
  } catch (error) {
    respondWithAppError(sink, error, logger); // the engine refused a header (node:http: a character above U+00FF)
  }
}

function sendWhole(status: number, statusText: string, headers: string[], body: string | Uint8Array | null, sink: ResponseSink): void {
  // A lone surrogate goes out as U+FFFD, as TextEncoder has it: some engines encode strings themselves.
  const wellFormed = typeof body === 'string' && !body.isWellFormed() ? body.toWellFormed() : body;
  const sending = sink.respond(status, statusText, headers, wellFormed);
  if (sending) void sending.then(() => recycleBody(body));
  else recycleBody(body);
}

function discardParts(parts: SendableParts): void {
  if (parts.body !== undefined) recycleBody(parts.body);
  else void parts.stream?.cancel().catch(ignore);
}

/**
 * Streams the body as the app produces it, waiting whenever the engine is full. The head waits for the
 * first chunk until the end of this turn of the event loop, so that a stream that fails at once gets a
 * 500 and a first chunk leaves with the head; a slower stream (server-sent events) gets its head first.
 * Callbacks, not an async loop: a promise per chunk less.
 */
function sendStream(reader: ReadableStreamDefaultReader<Uint8Array>, parts: SendableParts, sink: ResponseSink, logger: Logger): void {
  let started = false;
  const start = () => {
    if (started) return;
    clearImmediate(lateFirstChunk);
    sink.startStream(parts.status, parts.statusText, parts.headers);
    started = true;
  };
  const lateFirstChunk = setImmediate(() => {
    if (sink.aborted) return;
    try {
      start();
      sink.flushHead();
    } catch (error) {
      void reader.cancel().catch(ignore);
      failed(error);
    }
  });
  sink.onAbort(() => {
    clearImmediate(lateFirstChunk);
    void reader.cancel().catch(ignore); // stop the app's stream
  });
  const read = (): void => void reader.read().then(write, failed);
  const failed = (error: unknown) => {
    clearImmediate(lateFirstChunk);
    if (started) {
      if (sink.aborted) return;
      logger.error({ err: error }, `Error while streaming the response to ${sink.method} ${sink.url}`);
      sink.destroy();
    } else {
      respondWithAppError(sink, error, logger);
    }
  };
  const write = ({ done, value }: Awaited<ReturnType<typeof reader.read>>) => {
    if (sink.aborted) return;
    let full: Promise<void> | undefined;
    try {
      if (!done && !(value instanceof Uint8Array)) throw new TypeError(`The response body's stream gave ${describeValue(value)}, not a Uint8Array`);
      start();
      if (done) {
        sink.end();
        return;
      }
      full = sink.write(value);
    } catch (error) {
      void reader.cancel().catch(ignore);
      failed(error);
      return;
    }
    if (full) void full.then(read);
    else read();
  };
  read();
}

/** Logs an app's error with its stack and answers 500, without the app's headers or internals. */
export function respondWithAppError(sink: ResponseSink, error: unknown, logger: Logger): void {
  if (sink.aborted) {
    // Often the cause of the error (an upload cut short): nothing to answer.
    logger.debug(`The client of ${sink.method} ${sink.url} went away: ${errorMessage(error)}`);
    return;
  }
  logger.error({ err: error }, `Error in the app while handling ${sink.method} ${sink.url}`);
  if (sink.headersSent) sink.destroy();
  else void sink.respond(500, 'Internal Server Error', ['content-type', 'text/plain; charset=utf-8'], INTERNAL_ERROR_BODY);
}
