import { callFetch, type FetchHandler, type FetchServer, type Logger, NO_WEBSOCKETS, respondWithAppError, sendResponse } from '@chaussette/core';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { Exchange, type ServerState } from './exchange.js';
import { UwsRequest } from './uws-request.js';

const RESOLVED = Promise.resolve();

/** Serves a fetch handler on uWebSockets.js: a lazy Request in, the Response written back corked, with backpressure. */
export function fetchHandler(fetch: FetchHandler, logger: Logger, origin: () => string, state: ServerState, server: FetchServer = NO_WEBSOCKETS) {
  const serveLater = (exchange: Exchange) => fetchExchange(fetch, exchange, origin, server, logger, (response) => sendResponse(response, exchange, logger));
  return (res: HttpResponse, req: HttpRequest): void => {
    const exchange = new Exchange(res, req, state);
    try {
      // Called here, not through serveLater: a closure call on this path costs hundreds of instructions.
      if (state.servesNow(exchange, serveLater)) fetchExchange(fetch, exchange, origin, server, logger, (response) => sendResponse(response, exchange, logger));
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
  callFetch(fetch, new UwsRequest(exchange, origin()) as unknown as Request, server, then, (error) => respondWithAppError(exchange, error, logger));
}
