import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { type ListenOptions, Server as NetServer, type Socket } from 'node:net';
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
  nameInheritedUnixSocket(server, target);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenOptions(target), () => {
      server.off('error', reject);
      resolve();
    });
  });
  reportAcceptErrors(server, logger);
  const address = boundAddress(server);
  if (address.type === 'tcp') origin = formatAddress(address);
  return {
    address,
    close: gracefulClose(server, connections, { websockets }),
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
  /** Closes the connections that have been idle for IDLE_BEFORE_CLOSE_MS (no request in progress, no byte read). */
  closeIdle(): void;
  /** Resolves once no connection speaks HTTP any more (closed, or upgraded to another protocol). */
  drained(): Promise<void>;
  /** Forgets a connection that left HTTP (a WebSocket): whoever took it closes it. */
  release(socket: Socket): void;
  /** A connection the app took over (its own upgrade): cut with the idle ones at shutdown. */
  handOver(socket: Socket): void;
}

/**
 * How long a connection must have been idle before shutdown closes it. A client that keeps its
 * connection (a reverse proxy's upstream keep-alive) sends its next request as soon as it has the last
 * answer, and a new connection sends its first one at once: that request is answered, with
 * `Connection: close`, if it arrives within this moment. Only one sent as the close is on its way is lost.
 */
export const IDLE_BEFORE_CLOSE_MS = 1000;

interface IdleSince {
  bytesRead: number;
  since: number;
}

/**
 * Watches a node:http server's connections (per connection, not per request: cheap with keep-alive),
 * for a graceful shutdown that loses no request: see ConnectionTracker. A node:https server carries its
 * requests on the TLS sockets of its 'secureConnection' event, not on the TCP ones of 'connection'.
 */
export function trackConnections(server: Server, event: 'connection' | 'secureConnection' = 'connection'): ConnectionTracker {
  const connections = new Set<Socket>();
  const handedOver = new WeakSet<Socket>();
  const idle = new WeakMap<Socket, IdleSince>();
  let closing = false;
  let noneLeft: (() => void) | undefined;
  const speaksHttp = (socket: Socket) => (socket as Socket & { parser?: unknown }).parser != null; // node:http frees it on upgrade
  const checkDrained = () => {
    if (!noneLeft) return;
    for (const socket of connections) if (speaksHttp(socket)) return;
    noneLeft();
  };
  const forget = (socket: Socket) => {
    connections.delete(socket);
    if (closing) checkDrained();
  };
  server.on(event, (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => forget(socket));
  });
  // node:http's current response on a connection (the field http-terminator relies on too).
  const currentResponse = (socket: Socket) => (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  // Idle: no response under way and not a byte read since the last look (a request may be half read).
  const stillIdle = (socket: Socket, seen: IdleSince) => !currentResponse(socket) && socket.bytesRead === seen.bytesRead;
  return {
    beginClose() {
      if (closing) return;
      closing = true;
      server.prependListener('request', (_req, res: ServerResponse) => void (res.shouldKeepAlive = false));
      for (const socket of connections) {
        const res = currentResponse(socket);
        if (res && !res.headersSent) res.shouldKeepAlive = false;
      }
    },
    closeIdle() {
      const now = Date.now();
      const due: [Socket, IdleSince][] = [];
      for (const socket of connections) {
        // An app's upgrade handler may leave a response on the socket (@fastify/websocket does): it is no HTTP.
        if (handedOver.has(socket)) {
          socket.destroy();
          continue;
        }
        if (!speaksHttp(socket)) continue;
        const seen = idle.get(socket);
        if (!seen || !stillIdle(socket, seen)) idle.set(socket, { bytesRead: socket.bytesRead, since: now });
        else if (now - seen.since >= IDLE_BEFORE_CLOSE_MS) due.push([socket, seen]);
      }
      // Timers run before the event loop reads the sockets: a request that is already here gets read
      // (and its response started) before setImmediate's turn, and keeps its connection open.
      if (due.length > 0) setImmediate(() => due.forEach(([socket, seen]) => stillIdle(socket, seen) && socket.destroy()));
    },
    drained() {
      return new Promise<void>((resolve) => {
        noneLeft = resolve;
        checkDrained();
      });
    },
    release(socket) {
      forget(socket);
    },
    handOver(socket) {
      handedOver.add(socket);
    },
  };
}

/**
 * node:net cannot name a unix socket it was handed as an fd (its address() is null, which Fastify's
 * start-up log cannot take): the server answers with the path core read from the kernel, as it would
 * for a socket it bound. Call it before listening.
 */
export function nameInheritedUnixSocket(server: Server, target: ListenTarget): void {
  if (target.type !== 'fd' || target.family !== 'unix') return;
  const address = server.address.bind(server);
  server.address = () => address() ?? target.path ?? '';
}

/** The address a node:http server listens on (see nameInheritedUnixSocket for inherited unix sockets). */
export function boundAddress(server: Server): BoundAddress {
  const address = server.address();
  if (address === null || typeof address === 'string') return { type: 'unix', path: address ?? '' };
  return { type: 'tcp', host: address.address, port: address.port };
}

const MAX_TIMEOUT_MS = 2 ** 31 - 1; // setTimeout fires at once past this

/**
 * Graceful and idempotent close for a node:http server: it stops accepting at once, and resolves once
 * every connection has ended. Meanwhile the responses say `Connection: close`, connections are closed
 * once idle (see IDLE_BEFORE_CLOSE_MS), WebSockets get 1001, and after `timeoutMs` whatever is left is
 * closed. `afterHttp` runs once no connection speaks HTTP any more (a Fastify instance's close()).
 */
export function gracefulClose(
  server: Server,
  connections: ConnectionTracker,
  { websockets, afterHttp }: { websockets?: Pick<WebSocketHub, 'closeAll' | 'terminateAll'>; afterHttp?: () => Promise<void> } = {},
): (timeoutMs: number) => Promise<void> {
  let closed: Promise<void> | undefined;
  return (timeoutMs) =>
    (closed ??= (async () => {
      connections.beginClose();
      // node:http's own close() would also close every idle connection at once (Node 19+), the one whose
      // next request is on the way among them: only the listening socket is closed here.
      const allEnded = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
      websockets?.closeAll();
      const sweep = setInterval(() => connections.closeIdle(), 50);
      const force = setTimeout(() => {
        server.closeAllConnections();
        websockets?.terminateAll();
      }, Math.min(timeoutMs, MAX_TIMEOUT_MS));
      try {
        await connections.drained();
        await afterHttp?.();
        await allEnded;
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

/**
 * The conformance kit's cases node:http's parser (llhttp) fails, for `knownFailures`: it refuses
 * `Transfer-Encoding: chunked` followed by a tab with 400, where RFC 9110 §5.5 strips the whitespace
 * around a field value (stricter than the RFC, never looser).
 */
export const NODE_HTTP_KNOWN_FAILURES: readonly string[] = ['accepts `chunked` with a tab after it (OWS too)'];

export { isValidHost } from '@chaussette/core';
export { byteLength, isResponse, partsOf } from './response-parts.js';
export { LazyRequest } from './lazy-request.js';
export { applyServerLimits, limitedListener, refuse, reportAcceptErrors } from './limits.js';
export { exposePeerCredentials, type PeerCredentials } from './peer-credentials.js';
export { NO_WEBSOCKETS, WebSocketHub, websocketHubFor } from './websocket.js';
