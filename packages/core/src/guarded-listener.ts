import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger, NodeListener } from './backend.js';
import { errorMessage } from './errors.js';
import { asHttp1Exchange, keepingHttp2Members } from './http2-compat.js';

/** The body of every 500 chaussette sends for an app: nothing of the app's headers or internals. */
export const INTERNAL_ERROR_BODY = 'Internal Server Error\n';

/** Logs an app error with its stack and answers 500, without any of the app's headers or internals. */
export function respondWithError(req: IncomingMessage, res: ServerResponse, error: unknown, logger: Logger): void {
  // Not req.destroyed: node:http destroys a request once its body has been read. node:http2's
  // compatibility response has no `destroyed`: its stream's says.
  if (res.destroyed || (res as { stream?: { destroyed: boolean } }).stream?.destroyed) {
    // The client went away (often the cause of the error, e.g. an aborted upload): nothing to answer.
    logger.debug(`The client of ${req.method} ${req.url} went away: ${errorMessage(error)}`);
    return;
  }
  logger.error({ err: error }, `Error in the app while handling ${req.method} ${req.url}`);
  if (res.writableEnded) return; // the response is complete: let it reach the client
  if (res.headersSent) {
    // Too late for a status code: cut the connection so the client sees a broken response, not a short one.
    res.destroy();
    return;
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  // No reason phrase: node:http writes its own, and HTTP/2 has none.
  res.writeHead(500, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(INTERNAL_ERROR_BODY),
  });
  res.end(INTERNAL_ERROR_BODY);
}

/**
 * A node app's listener as a backend must call it: a throw or a rejected promise answers 500 (see
 * respondWithError) instead of ending the process. For node:http and for any engine's node-compatible
 * request and response (the uws backend's).
 */
export function guardedListener(listener: NodeListener, logger: Logger): NodeListener {
  const http2Listener = keepingHttp2Members(listener);
  return (req, res) => {
    try {
      // HTTP/1.1 calls the app directly: a call more on every request costs more than the branch.
      const result = (req.httpVersionMajor === 2 ? overHttp2(req, res, http2Listener) : listener(req, res)) as { then?: unknown } | undefined;
      if (typeof result?.then === 'function') {
        (result as Promise<unknown>).then(undefined, (error: unknown) => respondWithError(req, res, error, logger));
      }
    } catch (error) {
      respondWithError(req, res, error, logger);
    }
  };
}

function overHttp2(req: IncomingMessage, res: ServerResponse, listener: NodeListener): unknown {
  asHttp1Exchange(req, res);
  return listener(req, res);
}
