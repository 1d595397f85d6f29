import type { Server, ServerResponse } from 'node:http';
import type { ListenOptions, Socket } from 'node:net';
import { type App, type BoundAddress, installFastResponse, type ListenTarget, type Logger, type NodeListener } from '@chaussette/core';
import { guardedListener } from './errors.js';
import { fetchListener } from './fetch-listener.js';

/**
 * An app as a node:http request listener: a node app guarded against throws and rejections, a fetch
 * app through the lazy Request bridge. Any backend built on a node:http server can use it
 * (`@chaussette/backend-node/bridge`). `origin` gives the host for request URLs without a Host header.
 */
export function nodeListenerFor(app: App, logger: Logger, origin: () => string): NodeListener {
  if (app.kind === 'node') return guardedListener(app.listener, logger);
  installFastResponse();
  return fetchListener(app.fetch, logger, origin);
}

/**
 * Watches a node:http server's connections (per connection, not per request: cheap with keep-alive).
 * The function it returns, called when shutdown begins, makes the response each connection is working
 * on say `Connection: close`, so that no client sends another request on a connection about to close.
 */
export function inFlightCloser(server: Server): () => void {
  const connections = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  return () => {
    for (const socket of connections) {
      // node:http's current response on this connection (the field http-terminator relies on too).
      const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
      if (res && !res.headersSent) res.shouldKeepAlive = false;
    }
  };
}

/** The address a node:http server listens on; an inherited unix socket by the path core read for it. */
export function boundAddress(server: Server, target: ListenTarget): BoundAddress {
  const address = server.address();
  // node:http cannot name a unix socket it was handed as an fd; core read its path from the kernel.
  if (address === null || typeof address === 'string') return { type: 'unix', path: address || (target.type === 'fd' && target.path) || '' };
  return { type: 'tcp', host: address.address, port: address.port };
}

const MAX_TIMEOUT_MS = 2 ** 31 - 1; // setTimeout fires at once past this

/**
 * Graceful and idempotent close for a node:http server: `stop()` stops accepting and resolves once
 * every connection has ended. Meanwhile the responses in flight say `Connection: close`, connections
 * are closed as they become idle, and after `timeoutMs` whatever is left is closed.
 */
export function gracefulClose(server: Server, stop: () => Promise<void>, closeInFlight: () => void): (timeoutMs: number) => Promise<void> {
  let closed: Promise<void> | undefined;
  return (timeoutMs) =>
    (closed ??= (async () => {
      closeInFlight();
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const force = setTimeout(() => server.closeAllConnections(), Math.min(timeoutMs, MAX_TIMEOUT_MS));
      try {
        await stop();
      } finally {
        clearInterval(sweep);
        clearTimeout(force);
      }
    })());
}

/** The node:net listen() options for a listen target. */
export function listenOptions(target: ListenTarget): ListenOptions {
  switch (target.type) {
    case 'tcp':
      return { host: target.host, port: target.port, backlog: target.backlog };
    case 'unix':
      return { path: target.path, backlog: target.backlog };
    case 'fd':
      return { fd: target.fd, backlog: target.backlog } as ListenOptions; // net takes fd; @types/node's ListenOptions omits it
  }
}

export { byteLength, isResponse, isValidHost, partsOf } from './response-parts.js';
