// The fetch layer: how every backend serves a fetch app (`app.kind === 'fetch'`), whatever its engine.
// A backend does, in this order:
//  1. installFastResponse() once, before it serves a fetch app: `new Response(string or bytes)` then
//     keeps its body as it is, for responseParts() to hand over without a stream.
//  2. Per request, refusalFor() on the head first (see limits.ts): a refused request never reaches the app.
//  3. A Request: a subclass of LazyRequest over the engine's request (six members to implement), which
//     builds only what the app reads.
//  4. callFetch(): the app's fetch, called with the Request and the FetchServer (NO_WEBSOCKETS without
//     `app.websocket`), then the result at once when it is not a promise.
//  5. partsOf() on the Response: status, flat headers, and the whole body when it is known without
//     reading a stream (else stream it, with backpressure). Once the engine is done with the bytes,
//     recycleBody() them. HEAD: the headers only. The client gone: discardResponse() or cancel the stream.
//  6. Anything that is not a Response, a throw or a rejection: a 500 with INTERNAL_ERROR_BODY, logged
//     with its stack; an error after the headers went out cuts the connection.
// The node:http version of all this is @chaussette/node-http's fetchListener; the uws backend's is its
// fetch-handler.ts. The conformance kit (@chaussette/testkit) checks the result.
import type { FetchHandler } from './backend.js';
import { type ResponseParts, responseParts, streamedResponseParts } from './fast-response.js';
import { undiciBodySource } from './undici-internals.js';
import type { FetchServer } from './websocket.js';

export { acceptLazyRequests, bodyUntouched, LazyRequest } from './lazy-request.js';
export { discardResponse, hasContentLength, installFastResponse, type ResponseParts, responseParts, streamedResponseParts, type StreamedResponseParts } from './fast-response.js';
export { recycleBody } from './body-pool.js';
export { INTERNAL_ERROR_BODY } from './guarded-listener.js';

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

/**
 * Status and headers, and the whole body when it is known without reading a stream (chaussette's
 * Response, or undici's made from a string or bytes); body undefined means: stream it, from `stream`
 * when chaussette's Response kept one, else from `response.body`. The caller takes the body.
 */
export function partsOf(response: Response): Omit<ResponseParts, 'body'> & { body: ResponseParts['body'] | undefined; stream?: ReadableStream<Uint8Array> } {
  const kept = responseParts(response);
  if (kept) return kept;
  const streamed = streamedResponseParts(response);
  if (streamed) return { ...streamed, body: undefined };
  const headers: string[] = [];
  let hasContentLength = false;
  for (const [name, value] of response.headers) {
    headers.push(name, value);
    if (name === 'content-length') hasContentLength = true;
  }
  return { status: response.status, statusText: response.statusText, headers, hasContentLength, body: undiciBodySource(response) };
}

/** The bytes a body takes on the wire. */
export function byteLength(body: string | Uint8Array): number {
  return typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
}

/** A Response, or an object shaped like one (from another realm, or a polyfill). */
export function isResponse(value: unknown): value is Response {
  if (value instanceof Response) return true;
  const candidate = value as Partial<Response> | null;
  return typeof candidate?.status === 'number' && typeof candidate.headers?.forEach === 'function' && 'body' in candidate;
}

