import type { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { ServerHttp2Session } from 'node:http2';
import { Server as NetServer, type Socket } from 'node:net';
import { MAX_TIMEOUT_MS } from '@chaussette/core';
import { awaitingPreface } from './h2c.js';
import { parsesHttp, responseUnderWay } from './node-internals.js';
import type { NodeHttpServer } from './server-kinds.js';
import type { WebSocketHub } from './websocket.js';

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
  /** The graceful timeout is over: every connection and HTTP/2 session left is cut. */
  destroyAll(): void;
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

// A connection speaks HTTP/1.1 (node:http parses it), or has not said yet whether it speaks HTTP/2 (h2c).
const speaksHttp1 = (socket: Socket) => parsesHttp(socket) || awaitingPreface.has(socket);

/**
 * Watches a node:http server's connections (per connection, not per request: cheap with keep-alive),
 * for a graceful shutdown that loses no request: see ConnectionTracker. A TLS server carries its
 * requests on the TLS sockets of its 'secureConnection' event, not on the TCP ones of 'connection'.
 * HTTP/2 sessions are the 'session' events of `sessionsFrom` (the server, or its h2c companion): at
 * close each gets GOAWAY, its streams in flight finish, and the session closes once they have.
 */
export function trackConnections(
  server: NodeHttpServer,
  event: 'connection' | 'secureConnection' = 'connection',
  sessionsFrom: EventEmitter = server,
): ConnectionTracker {
  const connections = new Set<Socket>();
  const handedOver = new WeakSet<Socket>();
  const idle = new WeakMap<Socket, IdleSince>();
  const sessions = new Set<ServerHttp2Session>();
  // TLS: the TCP connections too, for one still in its handshake when the graceful timeout is over.
  const handshaking = event === 'secureConnection' ? trackSockets(server) : undefined;
  let closing = false;
  let noneLeft: (() => void) | undefined;
  const checkDrained = () => {
    if (!noneLeft || sessions.size > 0) return;
    for (const socket of connections) if (speaksHttp1(socket)) return;
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
  sessionsFrom.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => {
      sessions.delete(session);
      if (closing) checkDrained();
    });
    if (closing) closeWhenServed(session);
  });
  // Idle: no response under way and not a byte read since the last look (a request may be half read).
  const stillIdle = (socket: Socket, seen: IdleSince) => !responseUnderWay(socket) && socket.bytesRead === seen.bytesRead;
  return {
    beginClose() {
      if (closing) return;
      closing = true;
      (server as EventEmitter).prependListener('request', (_req, res: ServerResponse) => void (res.shouldKeepAlive = false));
      for (const socket of connections) {
        const res = responseUnderWay(socket);
        if (res && !res.headersSent) res.shouldKeepAlive = false;
      }
      // GOAWAY (its last stream the last one received): the streams in flight finish, then the session closes.
      for (const session of sessions) session.close();
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
        if (!speaksHttp1(socket)) continue;
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
    destroyAll() {
      for (const session of sessions) session.destroy();
      for (const socket of connections) socket.destroy();
      for (const socket of handshaking ?? []) socket.destroy();
    },
  };
}

function trackSockets(server: NodeHttpServer): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}

/**
 * A session that opens once shutdown has begun (its client connected just before) is served its first
 * requests as an HTTP/1.1 connection is, then gets GOAWAY: once they have arrived, or after
 * IDLE_BEFORE_CLOSE_MS without one.
 */
function closeWhenServed(session: ServerHttp2Session): void {
  const close = () => session.close();
  session.once('stream', () => setImmediate(close));
  setTimeout(close, IDLE_BEFORE_CLOSE_MS).unref();
}

/**
 * Graceful and idempotent close for a node:http server: it stops accepting at once, and resolves once
 * every connection has ended. Meanwhile the responses say `Connection: close`, connections are closed
 * once idle (see IDLE_BEFORE_CLOSE_MS), WebSockets get 1001, and after `timeoutMs` whatever is left is
 * closed. `afterHttp` runs once no connection speaks HTTP any more (a Fastify instance's close()).
 */
export function gracefulClose(
  server: NodeHttpServer,
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
        connections.destroyAll();
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
