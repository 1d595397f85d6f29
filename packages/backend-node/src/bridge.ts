import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { ListenOptions, Socket } from 'node:net';
import {
  type App,
  type BoundAddress,
  ChaussetteError,
  clientAddress,
  formatAddress,
  installFastResponse,
  type ListenTarget,
  type Logger,
  type FetchServer,
  type Limits,
  type NodeListener,
  resolveLimits,
  type ServeOptions,
  type ServerHandle,
} from '@chaussette/core';
import { guardedListener } from './errors.js';
import { fetchListener } from './fetch-listener.js';
import { applyServerLimits, limitedListener, refusalOf, refuse, reportAcceptErrors } from './limits.js';
import { exposePeerCredentials } from './peer-credentials.js';
import { endConnection, NO_WEBSOCKETS, type WebSocketHub, websocketHubFor } from './websocket.js';

/**
 * A whole Backend.serve() on a server of node:http's kind that `create` makes around the listener
 * (node:http's createServer, node:https's with a certificate…): the app behind the limits, the access
 * log, a graceful close. `connectionEvent`: 'secureConnection' for a TLS server (see trackConnections).
 */
export async function serveOnNodeServer(
  create: (listener: NodeListener) => Server,
  app: App,
  target: ListenTarget,
  options: ServeOptions,
  connectionEvent: 'connection' | 'secureConnection' = 'connection',
): Promise<ServerHandle> {
  const { logger } = options;
  let origin = 'localhost';
  const limits = resolveLimits(options.limits);
  const websockets = app.kind === 'fetch' && app.websocket ? websocketHubFor(app.websocket, logger) : undefined;
  const server = create(limitedListener(nodeListenerFor(app, logger, () => origin, websockets?.fetchServer), limits));
  applyServerLimits(server, limits);
  observeRequests(server, options);
  const connections = trackConnections(server, connectionEvent);
  handleUpgrades(server, app, { websockets, connections, logger, origin: () => origin, limits, accessLog: options.accessLog, trustedProxies: options.trustedProxies });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenOptions(target), () => {
      server.off('error', reject);
      resolve();
    });
  });
  reportAcceptErrors(server, logger);
  const address = boundAddress(server, target);
  if (address.type === 'tcp') origin = formatAddress(address);
  return {
    address,
    close: gracefulClose(server, () => new Promise<void>((resolve) => server.close(() => resolve())), connections, websockets),
  };
}

/**
 * Requests to switch protocols, on a node:http server: a fetch app's WebSocket handshakes (see
 * WebSocketHub), or a node app's own 'upgrade' listener. Without either, node:http answers them as
 * plain requests.
 */
export function handleUpgrades(
  server: Server,
  app: App,
  {
    websockets,
    connections,
    logger,
    origin,
    limits,
    accessLog,
    trustedProxies,
  }: { websockets?: WebSocketHub; connections: ConnectionTracker; logger: Logger; origin: () => string; limits: Limits } & Pick<ServeOptions, 'accessLog' | 'trustedProxies'>,
): void {
  if (websockets && app.kind === 'fetch') {
    const admit = (req: IncomingMessage, res: ServerResponse) => {
      observeRequest(req, res, { accessLog, trustedProxies });
      const status = refusalOf(req, limits, websockets.pendingCount);
      if (status) refuse(res, status);
      return status === 0;
    };
    // Once a WebSocket, the connection is the hub's: it closes it with 1001 at shutdown.
    server.on('upgrade', websockets.upgradeListener(app.fetch, origin, admit, (socket) => connections.release(socket as Socket)));
  } else if (app.kind === 'node' && app.upgrade) {
    const upgrade = app.upgrade;
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      connections.handOver(socket);
      // node:http took its 'error' listener off the socket: until the app adds its own, a reset would end the process.
      socket.on('error', () => {});
      try {
        const result = upgrade(req, socket, head) as { then?: unknown } | undefined;
        if (typeof result?.then === 'function') (result as Promise<unknown>).then(undefined, (error: unknown) => upgradeFailed(req, socket, error, logger));
      } catch (error) {
        upgradeFailed(req, socket, error, logger);
      }
    });
  }
}

function upgradeFailed(req: IncomingMessage, socket: Socket, error: unknown, logger: Logger): void {
  logger.error({ err: error }, `Error in the app while upgrading ${req.method} ${req.url}`);
  if (!socket.destroyed) endConnection(socket, 'HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
}

/**
 * An app as a node:http request listener: a node app guarded against throws and rejections, a fetch
 * app through the lazy Request bridge. Any backend built on a node:http server can use it
 * (`@chaussette/backend-node/bridge`). `origin` gives the host for request URLs without a Host header.
 */
export function nodeListenerFor(app: App, logger: Logger, origin: () => string, server: FetchServer = NO_WEBSOCKETS): NodeListener {
  if (app.kind === 'node') return guardedListener(app.listener, logger);
  installFastResponse();
  return fetchListener(app.fetch, logger, origin, server);
}

/**
 * The per-request options of ServeOptions for a node:http server, before the app sees the request:
 * with `trustedProxies`, `req.socket.remoteAddress` becomes the client's address from X-Forwarded-For
 * (for this request: the next one on the connection is judged again); with `accessLog`, one entry per
 * response, when it is complete or the client left; with `peerCredentials`, `req.peerCredentials` on
 * unix sockets (see exposePeerCredentials). Costs nothing when none is set.
 */
export function observeRequests(
  server: Server,
  { accessLog, trustedProxies, peerCredentials }: Pick<ServeOptions, 'accessLog' | 'trustedProxies' | 'peerCredentials'>,
): void {
  if (peerCredentials) exposePeerCredentials(server);
  if (!accessLog && !trustedProxies) return;
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => observeRequest(req, res, { accessLog, trustedProxies }));
}

/** observeRequests() for one request: also for a WebSocket handshake's (a 101 once upgraded). */
export function observeRequest(req: IncomingMessage, res: ServerResponse, { accessLog, trustedProxies }: Pick<ServeOptions, 'accessLog' | 'trustedProxies'>): void {
  const started = performance.now();
  const socket = req.socket as Socket & { remoteAddress?: string };
  if (trustedProxies) {
    if (Object.hasOwn(socket, 'remoteAddress')) delete socket.remoteAddress; // the previous request's client
    const peer = socket.remoteAddress;
    const forwarded = req.headers['x-forwarded-for'];
    const client = clientAddress(peer, Array.isArray(forwarded) ? forwarded.join(',') : forwarded, trustedProxies);
    if (client !== peer) Object.defineProperty(socket, 'remoteAddress', { value: client, configurable: true, enumerable: true });
  }
  if (accessLog) {
    const remoteAddress = socket.remoteAddress;
    const url = req.url ?? '/'; // as the client sent it: routers (and --mount) rewrite req.url
    res.once('close', () => {
      // The header block as sent: headers given to writeHead() never show in getHeader().
      const sent = (res as ServerResponse & { _header?: string | null })._header;
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
        aborted: !res.writableFinished && res.statusCode !== 101,
      });
    });
  }
}

const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;

/** What graceful shutdown needs from a node:http server's connections (see trackConnections). */
export interface ConnectionTracker {
  /** Shutdown begins: every response from now on, and the ones in flight, say `Connection: close`. */
  beginClose(): void;
  /** Closes the connections with no request in progress, sparing, for a moment, those not used yet. */
  closeIdle(): void;
  /** Forgets a connection that left HTTP (a WebSocket): whoever took it closes it. */
  release(socket: Socket): void;
  /** A connection the app took over (its own upgrade): cut with the idle ones at shutdown. */
  handOver(socket: Socket): void;
}

// A connection accepted just before shutdown has its first request on the way: closing it would lose
// a request that another worker could have served. It gets this long to send it.
const FRESH_CONNECTION_GRACE_MS = 1000;

/**
 * Watches a node:http server's connections (per connection, not per request: cheap with keep-alive),
 * for a graceful shutdown that loses no request: see ConnectionTracker. A node:https server carries its
 * requests on the TLS sockets of its 'secureConnection' event, not on the TCP ones of 'connection'.
 */
export function trackConnections(server: Server, event: 'connection' | 'secureConnection' = 'connection'): ConnectionTracker {
  const connections = new Set<Socket>();
  const handedOver = new WeakSet<Socket>();
  let closingSince = 0;
  server.on(event, (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  // node:http's current response on a connection (the field http-terminator relies on too).
  const currentResponse = (socket: Socket) => (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  return {
    beginClose() {
      if (closingSince) return;
      closingSince = Date.now();
      server.prependListener('request', (_req, res: ServerResponse) => void (res.shouldKeepAlive = false));
      for (const socket of connections) {
        const res = currentResponse(socket);
        if (res && !res.headersSent) res.shouldKeepAlive = false;
      }
    },
    closeIdle() {
      const graceOver = Date.now() - closingSince > FRESH_CONNECTION_GRACE_MS;
      for (const socket of connections) {
        // bytesWritten 0: no response sent yet, so no request answered yet, on this connection.
        // An app's upgrade handler may leave a response on the socket (@fastify/websocket does): it is no HTTP.
        if (handedOver.has(socket) || (!currentResponse(socket) && (socket.bytesWritten > 0 || graceOver))) socket.destroy();
      }
    },
    release(socket) {
      connections.delete(socket);
    },
    handOver(socket) {
      handedOver.add(socket);
    },
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
 * every connection has ended. Meanwhile the responses say `Connection: close`, connections are closed
 * as they become idle, WebSockets get 1001, and after `timeoutMs` whatever is left is closed.
 */
export function gracefulClose(
  server: Server,
  stop: () => Promise<void>,
  connections: ConnectionTracker,
  websockets?: Pick<WebSocketHub, 'closeAll' | 'terminateAll'>,
): (timeoutMs: number) => Promise<void> {
  let closed: Promise<void> | undefined;
  return (timeoutMs) =>
    (closed ??= (async () => {
      connections.beginClose();
      websockets?.closeAll();
      const sweep = setInterval(() => connections.closeIdle(), 50);
      const force = setTimeout(() => {
        server.closeAllConnections();
        websockets?.terminateAll();
      }, Math.min(timeoutMs, MAX_TIMEOUT_MS));
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
      if (target.reusePort && !nodeHasReusePort()) {
        throw new ChaussetteError(
          `--reuse-port needs Node.js 22.12 or later with node:http (this is Node.js ${process.versions.node}); the uws backend has it on any version`,
        );
      }
      // Node 20 ignores `reusePort`, hence the check above.
      return { host: target.host, port: target.port, backlog: target.backlog, ...(target.reusePort && { reusePort: true }) };
    case 'unix':
      return { path: target.path, backlog: target.backlog };
    case 'fd':
      return { fd: target.fd, backlog: target.backlog } as ListenOptions; // net takes fd; @types/node's ListenOptions omits it
  }
}

/** net.Server's listen() takes `reusePort` from Node.js 22.12 and 23.1. */
function nodeHasReusePort(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

export { byteLength, isResponse, isValidHost, partsOf } from './response-parts.js';
export { LazyRequest } from './lazy-request.js';
export { applyServerLimits, limitedListener, refuse, reportAcceptErrors } from './limits.js';
export { exposePeerCredentials, type PeerCredentials } from './peer-credentials.js';
export { NO_WEBSOCKETS, WebSocketHub, websocketHubFor } from './websocket.js';
