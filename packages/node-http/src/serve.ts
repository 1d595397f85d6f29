import type { EventEmitter } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { Server as TlsServer } from 'node:tls';
import type { Socket } from 'node:net';
import {
  type App,
  type FetchServer,
  formatAddress,
  guardedListener,
  installFastResponse,
  type Limits,
  type ListenTarget,
  type Logger,
  NO_WEBSOCKETS,
  type NodeListener,
  resolveLimits,
  type ServeOptions,
  type ServerHandle,
} from '@chaussette/core';
import { type ConnectionTracker, gracefulClose, trackConnections } from './connections.js';
import { acceptPriorKnowledgeHttp2 } from './h2c.js';
import { fetchListener } from './fetch-listener.js';
import { limitServer, refusalOf, refuse, reportAcceptErrors } from './limits.js';
import { boundAddress, listenOptions, nameInheritedUnixSocket } from './listen.js';
import { observeRequest, observeRequests } from './observe.js';
import type { NodeHttpServer } from './server-kinds.js';
import { createNodeServer, type NodeServerKind, SecureContexts } from './tls.js';
import { endConnection, type WebSocketHub, websocketHubFor } from './websocket.js';

/** The part of a backend on a node:http server that is its own: how the server is made, listens and closes. */
export interface NodeServerEngine {
  /**
   * The server, with `listener` (the app's, see nodeListenerFor) as its 'request' listener or behind its
   * own routing (Fastify's catch-all route), of the `kind` ServeOptions ask for: with `kind.tls`, a TLS
   * server with those options (node:http2's secure server with allowHTTP1 when `kind.http2`), else a
   * node:http one. Default: createNodeServer().
   */
  createServer?(listener: NodeListener, kind: NodeServerKind): NodeHttpServer;
  /** Default: server.listen() with listenOptions(target). */
  listen?(server: NodeHttpServer, target: ListenTarget): Promise<void>;
  /** Runs at shutdown once no connection speaks HTTP any more (a Fastify instance's close()). */
  afterHttp?(): Promise<void>;
  /**
   * For a TLS server made without ServeOptions.tls (the on-demand TLS example's own): 'secureConnection' (see
   * trackConnections). Default: 'secureConnection' with ServeOptions.tls, 'connection' otherwise.
   */
  connectionEvent?: 'connection' | 'secureConnection';
}

/**
 * A whole Backend.serve() on a server of node:http's kind: the app (see nodeListenerFor) behind the
 * limits, the per-request options (access log, proxy headers, peer credentials), WebSockets or the
 * app's own upgrades, the accept errors reported, and a graceful close that loses no request.
 */
export async function serveOnNodeServer(app: App, target: ListenTarget, options: ServeOptions, engine: NodeServerEngine): Promise<ServerHandle> {
  const { logger } = options;
  let origin = 'localhost';
  const limits = resolveLimits(options.limits);
  const websockets = app.kind === 'fetch' && app.websocket ? websocketHubFor(app.websocket, logger) : undefined;
  const contexts = options.tls && new SecureContexts(options.tls);
  const kind: NodeServerKind = { tls: contexts?.serverOptions(), http2: options.tls?.http2 ?? false };
  const server = (engine.createServer ?? createNodeServer)(nodeListenerFor(app, logger, () => origin, websockets?.fetchServer), kind);
  // node:http's helpers below take every NodeHttpServer (see server-kinds.ts), typed as node:http's.
  const http1 = server as Server;
  const sessionsFrom: EventEmitter = options.h2c ? acceptPriorKnowledgeHttp2(http1) : server;
  limitServer(http1, limits);
  observeRequests(http1, options);
  const connections = trackConnections(server, engine.connectionEvent ?? (options.tls ? 'secureConnection' : 'connection'), sessionsFrom);
  closeIdleSessions(sessionsFrom, options.h2c ? 'connection' : (engine.connectionEvent ?? 'secureConnection'), limits.keepAliveTimeoutMs);
  handleUpgrades(http1, app, { websockets, connections, logger, origin: () => origin, limits, accessLog: options.accessLog, trustedProxies: options.trustedProxies });
  nameInheritedUnixSocket(http1, target);
  await (engine.listen ?? listen)(server, target);
  reportAcceptErrors(http1, logger);
  const address = boundAddress(http1);
  if (address.type === 'tcp') origin = formatAddress(address);
  const close = gracefulClose(server, connections, { websockets, afterHttp: engine.afterHttp });
  if (!contexts) return { address, close };
  return { address, close, updateTls: (tls) => contexts.update(server as TlsServer, tls) };
}

/**
 * --timeout-keep-alive for HTTP/2. A session with no frame in that long and no open stream is closed. One
 * with open streams gets GOAWAY, and they may finish; from then on, every keep-alive timeout, it is cut
 * once none is left, or once every one has output waiting and nothing was written since the last look:
 * its client stopped reading. A stream whose app is silent (a long poll) keeps it open. node:http2 would
 * wait on such a client for good: close() for its streams, and destroy() for its socket to take what is
 * queued. So the socket itself is destroyed too, if it is still open a keep-alive timeout after its session.
 */
function closeIdleSessions(sessionsFrom: EventEmitter, connectionEvent: 'connection' | 'secureConnection', keepAliveTimeoutMs: number): void {
  if (keepAliveTimeoutMs === 0) return;
  // node:http2 makes each session in its own listener of the connection event and tells it there: the
  // socket this listener, which runs first, has just seen is the session's.
  let connecting: Socket | undefined;
  sessionsFrom.prependListener(connectionEvent, (socket: Socket) => void (connecting = socket));
  sessionsFrom.on(connectionEvent, () => void (connecting = undefined));
  sessionsFrom.on('session', (session: ServerHttp2Session) => {
    const socket = connecting;
    const streams = new Set<ServerHttp2Stream>();
    session.on('stream', (stream: ServerHttp2Stream) => {
      streams.add(stream);
      stream.once('close', () => streams.delete(stream));
    });
    session.setTimeout(keepAliveTimeoutMs, () => {
      if (streams.size === 0) session.destroy();
      else session.goaway();
      let written = socket?.bytesWritten;
      const look = setInterval(() => {
        if (session.destroyed) {
          socket?.destroy();
          return clearInterval(look);
        }
        const wroteNothing = socket?.bytesWritten === written;
        written = socket?.bytesWritten;
        if (streams.size === 0 || (wroteNothing && [...streams].every((stream) => stream.writableLength > 0))) session.destroy();
      }, keepAliveTimeoutMs).unref();
      (socket ?? session).once('close', () => clearInterval(look));
    });
  });
}

function listen(server: NodeHttpServer, target: ListenTarget): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenOptions(target), () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * An app as a node:http request listener: a node app guarded against throws and rejections, a fetch
 * app through the lazy Request bridge (see fetchListener). `origin` gives the host for request URLs
 * without a Host header.
 */
export function nodeListenerFor(app: App, logger: Logger, origin: () => string, server: FetchServer = NO_WEBSOCKETS): NodeListener {
  if (app.kind === 'node') return guardedListener(app.listener, logger);
  installFastResponse();
  return fetchListener(app.fetch, logger, origin, server);
}

interface UpgradeContext extends Pick<ServeOptions, 'accessLog' | 'trustedProxies'> {
  websockets?: WebSocketHub;
  connections: ConnectionTracker;
  logger: Logger;
  origin: () => string;
  limits: Limits;
}

/**
 * Requests to switch protocols, on a node:http server: a fetch app's WebSocket handshakes (see
 * WebSocketHub), or a node app's own 'upgrade' listener. Without either, node:http answers them as
 * plain requests. A Fastify app's own upgrades (@fastify/websocket) are Fastify's: it has neither.
 */
function handleUpgrades(server: Server, app: App, { websockets, connections, logger, origin, limits, accessLog, trustedProxies }: UpgradeContext): void {
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
