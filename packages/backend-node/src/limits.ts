import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { errorCode, errorMessage, type Limits, type Logger, type NodeListener, refusal, refusalFor } from '@chaussette/core';

/**
 * The limits node:http enforces itself: the size of a request head (431) and the timeouts (a head
 * that does not arrive in time gets 408). Call before listen().
 */
export function applyServerLimits(server: Server, limits: Limits): void {
  const tunable = server as Server & { maxHeaderSize?: number; connectionsCheckingInterval: number };
  tunable.maxHeaderSize = limits.requestHeadersBytes;
  server.headersTimeout = limits.headersTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // node:http looks for late heads only this often, 30 s by default: a slow client would get twice its time.
  if (limits.headersTimeoutMs) tunable.connectionsCheckingInterval = Math.min(Math.max(limits.headersTimeoutMs / 4, 100), 30_000);
}

const NO_LENGTH: readonly string[] = [];

/**
 * The limits checked per request, before `listener` sees it: the request line (414), the body's
 * declared length (413), requests in flight (503); a chunked body that grows past its limit is cut
 * (413 if the app has not answered yet).
 */
export function limitedListener(listener: NodeListener, limits: Limits): NodeListener {
  const { requestBodyBytes, concurrency } = limits;
  let inFlight = 0;
  const leave = () => void inFlight--;
  return (req, res) => {
    const status = refusalOf(req, limits, inFlight);
    if (status) return refuse(res, status);
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (concurrency) {
      inFlight++;
      res.once('close', leave);
    }
    if (requestBodyBytes && chunked) capBody(req, res, requestBodyBytes);
    return listener(req, res);
  };
}

/** The status refusing this request (see refusalFor), 0 if it may go on. */
export function refusalOf(req: IncomingMessage, limits: Limits, inFlight: number): number {
  const length = req.headers['content-length'];
  const hasTransferEncoding = req.headers['transfer-encoding'] !== undefined;
  return refusalFor({ method: req.method!, url: req.url!, contentLengths: length === undefined ? NO_LENGTH : [length], hasTransferEncoding, inFlight }, limits);
}

/** Answers `status` (see refusal) and closes the connection: the request's body, if any, is not read. */
export function refuse(res: ServerResponse, status: number): void {
  const { headers, body } = refusal(status);
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function capBody(req: IncomingMessage, res: ServerResponse, limit: number): void {
  let received = 0;
  const push = req.push;
  // node:http's parser hands every chunk of the body to push(): counting there costs the reader nothing.
  req.push = function (chunk: Buffer | null, encoding?: BufferEncoding) {
    if (chunk !== null && (received += chunk.length) > limit) {
      req.push = () => false; // false also stops reading the socket
      if (res.headersSent) res.destroy();
      else refuse(res, 413);
      return false;
    }
    return push.call(this, chunk, encoding);
  };
}

const ACCEPT_ERROR_INTERVAL_MS = 5000;

/**
 * A server that cannot accept a connection says so, at most every few seconds, and goes on: without a
 * listener, node:http's 'error' event would end the process. Out of file descriptors (EMFILE), libuv
 * itself closes the waiting connections with a spare descriptor and reports nothing, unless that fails.
 */
export function reportAcceptErrors(server: Server, logger: Logger): void {
  let reported = 0;
  server.on('error', (error) => {
    if (Date.now() - reported < ACCEPT_ERROR_INTERVAL_MS) return;
    reported = Date.now();
    const code = errorCode(error);
    const hint =
      code === 'EMFILE' || code === 'ENFILE'
        ? ': out of file descriptors, so new connections are dropped until some close. Raise the limit (ulimit -n, LimitNOFILE= in systemd, minfds in Supervisor) or lower --limit-concurrency'
        : '';
    logger.warn(`Cannot accept a connection: ${errorMessage(error)}${hint}`);
  });
}
