import {
  callFetch,
  describeValue,
  errorMessage,
  type FetchHandler,
  type FetchServer,
  INTERNAL_ERROR_BODY,
  isResponse,
  type Logger,
  NO_WEBSOCKETS,
  partsOf,
  recycleBody,
  responseParts,
} from '@chaussette/core';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { Exchange, type ServerState } from './exchange.js';
import { UwsRequest } from './uws-request.js';

const RESOLVED = Promise.resolve();

/** Serves a fetch handler on uWebSockets.js: a lazy Request in, the Response written back corked, with backpressure. */
export function fetchHandler(fetch: FetchHandler, logger: Logger, origin: () => string, state: ServerState, server: FetchServer = NO_WEBSOCKETS) {
  return (res: HttpResponse, req: HttpRequest): void => {
    const exchange = new Exchange(res, req, state);
    try {
      if (!state.refused(exchange)) fetchExchange(fetch, exchange, origin, server, logger, (response) => sendResponse(response, exchange, logger));
    } finally {
      // uWS.js runs the microtasks its handler queued before it checks that the request was answered or
      // has an abort handler. An async fetch that answers at once (its then() was queued above, before
      // this) so still answers inside the handler: no abort handler, no cork. A later answer gets both.
      if (exchange.answered) exchange.leaveHandler();
      else void RESOLVED.then(() => exchange.leaveHandler()); // a promise job: cheaper than queueMicrotask()
    }
  };
}

/** Calls the app's fetch with the exchange's request, and `then` with what it returns (a throw or rejection: a 500). */
export function fetchExchange(
  fetch: FetchHandler,
  exchange: Exchange,
  origin: () => string,
  server: FetchServer,
  logger: Logger,
  then: (response: Response | undefined) => void,
): void {
  callFetch(fetch, new UwsRequest(exchange, origin()) as unknown as Request, server, then, (error) => respondWithError(exchange, error, logger));
}

export function sendResponse(response: Response | undefined, exchange: Exchange, logger: Logger): void {
  const kept = responseParts(response); // chaussette's own Response: the common case, first
  if (kept) {
    const body = kept.body;
    const sent = exchange.respond(kept.status, kept.statusText, kept.headers, body);
    // uWS has copied what it could not send at once; a pending send still reads the bytes.
    if (sent) void sent.then(() => recycleBody(body));
    else recycleBody(body);
    return;
  }
  if (!isResponse(response)) {
    respondWithError(exchange, new TypeError(`The fetch handler returned ${describeValue(response)}, not a Response`), logger);
    return;
  }
  const parts = partsOf(response);
  if (exchange.aborted) {
    if (parts.body === undefined) void (parts.stream ?? response.body)?.cancel().catch(() => {});
    return;
  }
  try {
    if (parts.body !== undefined) {
      void exchange.respond(parts.status, parts.statusText, parts.headers, parts.body);
      return;
    }
    const body = parts.stream ?? response.body;
    if (body === null || exchange.isHead) {
      void exchange.respond(parts.status, parts.statusText, parts.headers, null);
      void body?.cancel().catch(() => {});
      return;
    }
    const reader = body.getReader(); // throws for a body already read: a 500, before any header is sent
    exchange.startStream(parts.status, parts.statusText, parts.headers);
    streamBody(reader, exchange).catch((error: unknown) => {
      logger.error({ err: error }, `Error while streaming the response to ${exchange.method} ${exchange.url}`);
      exchange.destroy();
    });
  } catch (error) {
    respondWithError(exchange, error, logger);
  }
}

async function streamBody(reader: ReadableStreamDefaultReader<Uint8Array>, exchange: Exchange): Promise<void> {
  exchange.onAbort(() => void reader.cancel().catch(() => {})); // the client went away: stop the app's stream
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (exchange.aborted) return;
    await exchange.write(value);
  }
  await exchange.end();
}

/** Logs an app error with its stack and answers 500, without the app's headers or internals. */
export function respondWithError(exchange: Exchange, error: unknown, logger: Logger): void {
  if (exchange.aborted) {
    logger.debug(`The client of ${exchange.method} ${exchange.url} went away: ${errorMessage(error)}`);
    return;
  }
  logger.error({ err: error }, `Error in the app while handling ${exchange.method} ${exchange.url}`);
  if (exchange.done) return;
  if (exchange.headersSent) {
    exchange.destroy();
    return;
  }
  void exchange.respond(500, 'Internal Server Error', ['content-type', 'text/plain; charset=utf-8'], INTERNAL_ERROR_BODY);
}

