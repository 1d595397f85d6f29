import type { IncomingMessage, Server, ServerResponse } from 'node:http';
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
import { fetchListener } from './fetch-listener.js';
import { limitServer, refusalOf, refuse, reportAcceptErrors } from './limits.js';
import { boundAddress, listenOptions, nameInheritedUnixSocket } from './listen.js';
import { observeRequest, observeRequests } from './observe.js';
import { endConnection, type WebSocketHub, websocketHubFor } from './websocket.js';

/** The part of a backend on a node:http server that is its own: how the server is made, listens and closes. */
export interface NodeServerEngine {
  /**
   * The server, with `listener` (the app's, see nodeListenerFor) as its 'request' listener or behind its
   * own routing (Fastify's catch-all route): node:http's createServer(listener), node:https's with a
   * certificate…
   */
  createServer(listener: NodeListener): Server;
  /** Default: server.listen() with listenOptions(target). */
  listen?(server: Server, target: ListenTarget): Promise<void>;
  /** Runs at shutdown once no connection speaks HTTP any more (a Fastify instance's close()). */
  afterHttp?(): Promise<void>;
  /** 'secureConnection' for a TLS server (see trackConnections). Default 'connection'. */
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
  const server = engine.createServer(nodeListenerFor(app, logger, () => origin, websockets?.fetchServer));
  limitServer(server, limits);
  observeRequests(server, options);
  const connections = trackConnections(server, engine.connectionEvent);
  handleUpgrades(server, app, { websockets, connections, logger, origin: () => origin, limits, accessLog: options.accessLog, trustedProxies: options.trustedProxies });
  nameInheritedUnixSocket(server, target);
  await (engine.listen ?? listen)(server, target);
  reportAcceptErrors(server, logger);
  const address = boundAddress(server);
  if (address.type === 'tcp') origin = formatAddress(address);
  return { address, close: gracefulClose(server, connections, { websockets, afterHttp: engine.afterHttp }) };
}

function listen(server: Server, target: ListenTarget): Promise<void> {
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
