import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import { clientAddress, type ServeOptions } from '@chaussette/core';
import { headAsSent } from './node-internals.js';
import { isHttp2, streamCutShort } from './node-request.js';
import { exposePeerCredentials } from './peer-credentials.js';
import type { NodeHttpServer } from './server-kinds.js';

/**
 * The per-request options of ServeOptions for a node:http server, before the app sees the request:
 * with `trustedProxies`, `req.socket.remoteAddress` becomes the client's address from X-Forwarded-For
 * (for this request: the next one on the connection is judged again); with `accessLog`, one entry per
 * response, when it is complete or the client left; with `peerCredentials`, `req.peerCredentials` on
 * unix sockets (see exposePeerCredentials). Costs nothing when none is set.
 */
export function observeRequests(
  server: NodeHttpServer,
  { accessLog, trustedProxies, peerCredentials }: Pick<ServeOptions, 'accessLog' | 'trustedProxies' | 'peerCredentials'>,
): void {
  if (peerCredentials) exposePeerCredentials(server);
  if (!accessLog && !trustedProxies) return;
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => observeRequest(req, res, { accessLog, trustedProxies }));
}

/** observeRequests() for one request: also for a WebSocket handshake's (a 101 once upgraded). */
export function observeRequest(req: IncomingMessage, res: ServerResponse, { accessLog, trustedProxies }: Pick<ServeOptions, 'accessLog' | 'trustedProxies'>): void {
  const started = performance.now();
  if (trustedProxies) forwardClient(req, trustedProxies);
  if (accessLog) {
    const remoteAddress = req.socket.remoteAddress;
    const url = req.url ?? '/'; // as the client sent it: routers (and --mount) rewrite req.url
    res.once('close', () => {
      // The header block as sent: headers given to writeHead() never show in getHeader().
      const sent = headAsSent(res);
      const length = Number(sent ? CONTENT_LENGTH.exec(sent)?.[1] : res.getHeader('content-length'));
      accessLog({
        remoteAddress,
        method: req.method ?? 'GET',
        url,
        httpVersion: req.httpVersion,
        status: res.statusCode,
        bytes: Number.isInteger(length) && length >= 0 ? length : undefined,
        referer: req.headers.referer,
        userAgent: req.headers['user-agent'],
        durationMs: performance.now() - started,
        aborted: isHttp2(req) ? streamCutShort(res as unknown as Http2ServerResponse) : !res.writableFinished && res.statusCode !== 101,
      });
    });
  }
}

const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;

/**
 * trustedProxies: the client's address from X-Forwarded-For as `req.socket.remoteAddress`. Over HTTP/1.1
 * it goes on the connection's socket, for this request. The streams of one HTTP/2 session may come from
 * different clients (a proxy multiplexes them), so there it goes on this request's socket, not the
 * session's: node:http2's `req.socket` is a proxy per stream, whose remoteAddress is read from the
 * session's socket.
 */
function forwardClient(req: IncomingMessage, trustedProxies: NonNullable<ServeOptions['trustedProxies']>): void {
  const http2 = isHttp2(req);
  const socket = req.socket as Socket & { remoteAddress?: string };
  if (!http2 && Object.hasOwn(socket, 'remoteAddress')) delete socket.remoteAddress; // the previous request's client
  const peer = socket.remoteAddress;
  const forwarded = req.headers['x-forwarded-for'];
  const client = clientAddress(peer, Array.isArray(forwarded) ? forwarded.join(',') : forwarded, trustedProxies);
  if (client === peer) return;
  if (!http2) return void Object.defineProperty(socket, 'remoteAddress', { value: client, configurable: true, enumerable: true });
  const forwardedSocket = new Proxy(socket, { get: (target, name) => (name === 'remoteAddress' ? client : Reflect.get(target, name)) });
  Object.defineProperty(req, 'socket', { value: forwardedSocket, configurable: true });
}
