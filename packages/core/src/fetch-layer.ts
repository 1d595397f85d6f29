// The fetch layer: how every backend serves a fetch app (`app.kind === 'fetch'`), whatever its engine.
// A backend does, in this order:
//  1. installFastResponse() once, before it serves a fetch app: `new Response(string or bytes)` then
//     keeps its body as it is, for the send path to hand over without a stream.
//  2. Per request, refusalFor() on the head first (see limits.ts): a refused request never reaches the app.
//  3. A Request: a subclass of LazyRequest over the engine's request (a few members to implement), which
//     builds only what the app reads.
//  4. callFetch(): the app's fetch, called with the Request and the FetchServer (NO_WEBSOCKETS without
//     `app.websocket`), then the result at once when it is not a promise.
//  5. sendResponse() with the result, through a ResponseSink over the engine's response (see
//     send-response.ts); a throw or a rejection from the app: respondWithAppError(), a 500.
// The conformance kit (@chaussette/testkit) checks the result.
import type { FetchHandler } from './backend.js';
import type { FetchServer } from './websocket.js';

export { acceptLazyRequests, bodyUntouched, LazyRequest } from './lazy-request.js';
export { discardResponse, hasContentLength, installFastResponse } from './fast-response.js';
export { recycleBody } from './body-pool.js';
export { INTERNAL_ERROR_BODY } from './guarded-listener.js';
export { isResponse, partsOf, respondWithAppError, type ResponseSink, type SendableParts, sendResponse } from './send-response.js';

/** The FetchServer of an app without WebSocket handlers: `server.upgrade()` returns false. */
export const NO_WEBSOCKETS: FetchServer = {
  upgrade: () => false,
  publish: () => 0,
  subscriberCount: () => 0,
};

/** Calls the app's fetch, and `then` with its result: at once when it returned no promise. `fail`: it threw or rejected. */
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
  if (typeof (result as Partial<Promise<Response>> | null)?.then !== 'function') then(result as Response | undefined);
  else (result as Promise<Response | undefined>).then(then, fail);
}

/** The bytes a body takes on the wire. */
export function byteLength(body: string | Uint8Array): number {
  return typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
}

