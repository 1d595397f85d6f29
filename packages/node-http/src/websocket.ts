import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type AcceptedUpgrade,
  callFetch,
  callWebSocketHandler,
  discardResponse,
  errorMessage,
  type FetchApp,
  isWebSocketHandshake,
  messageByteLength,
  perWebSocketHandler,
  respondWithAppError,
  sendResponse,
  type FetchServer,
  type Logger,
  type ServerWebSocket,
  type UpgradeListener,
  upgradeRequest,
  type WebSocketHandler,
  type WebSocketMessage,
  type WebSocketSettings,
  websocketSettings,
} from '@chaussette/core';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { NodeResponseSink } from './fetch-listener.js';
import { responseUnderWay } from './node-internals.js';
import { createRequest } from './node-request.js';

const SHUTDOWN_REASON = 'Server shutting down';

// See maxFragmentsFor().
const FRAGMENTS_AT_LEAST = 65_536;
const AVERAGE_FRAGMENT_BYTES = 64;

/**
 * How many frames ws takes for one message (its maxFragments; more closes with 1008). Its default,
 * 16,384, refuses messages within maxPayloadLength: 4 MiB in 64-byte frames (Autobahn 9.3.1, 9.4.1)
 * is 65,536. Yet maxPayloadLength alone does not bound what a message costs while ws assembles it:
 * each non-empty frame is a Buffer view in ws's list (measured on ws 8.23: about 110 bytes of heap a
 * frame), and it keeps the socket's chunks that hold the frames, headers included, alive. A message
 * of N bytes in N one-byte frames costs over 100 N: taking as many frames as maxPayloadLength would let
 * one client hold ~2 GB with the 16 MiB default. Empty frames cost only ws's count, nothing kept.
 * So: any message whose frames carry 64 bytes on average (Autobahn's smallest), and any message of up
 * to 65,536 frames whatever their sizes (64 KiB a byte a frame, empty frames too). A message then costs
 * at most about 4 times maxPayloadLength (measured: 65 MiB for 16 MiB in 262,144 frames), or 8 MiB for
 * a small one.
 */
export function maxFragmentsFor(maxPayloadLength: number): number {
  return Math.max(FRAGMENTS_AT_LEAST, Math.ceil(maxPayloadLength / AVERAGE_FRAGMENT_BYTES));
}

const hubs = perWebSocketHandler((handler, logger) => new WebSocketHub(handler, logger));

/** The app's hub: one for all its listen targets, so that a topic reaches subscribers on every one. */
export const websocketHubFor = hubs.get;

/**
 * The WebSocket side of a fetch app on a node:http server, with the `ws` package: the handshake after
 * `server.upgrade()`, the open connections (for pub/sub, idle timeouts and the 1001 at shutdown).
 */
export class WebSocketHub {
  readonly #handler: WebSocketHandler;
  readonly #settings: WebSocketSettings;
  readonly #logger: Logger;
  readonly #server: WebSocketServer;
  readonly #open = new Set<NodeWebSocket>();
  readonly #topics = new Map<string, Set<NodeWebSocket>>();
  readonly #extraHeaders = new WeakMap<IncomingMessage, Headers>();
  /** Upgrade requests whose fetch has not decided yet. */
  readonly #pending = new Set<Duplex>();
  #idleSweep: NodeJS.Timeout | undefined;
  #closing = false;

  /** What `fetch` gets as its second argument on every request that is no upgrade. */
  readonly fetchServer: FetchServer = {
    upgrade: () => false,
    publish: (topic, message, compress) => this.publish(topic, message, compress),
    subscriberCount: (topic) => this.#topics.get(topic)?.size ?? 0,
  };

  constructor(handler: WebSocketHandler, logger: Logger) {
    this.#handler = handler;
    this.#settings = websocketSettings(handler);
    this.#logger = logger;
    this.#server = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: this.#settings.maxPayloadLength,
      maxFragments: maxFragmentsFor(this.#settings.maxPayloadLength),
      perMessageDeflate: this.#settings.perMessageDeflate,
      // The sub-protocol the app chose (Sec-WebSocket-Protocol in upgrade()'s headers), else the client's first.
      handleProtocols: (offered, req) => {
        const chosen = this.#extraHeaders.get(req)?.get('sec-websocket-protocol');
        return chosen ?? offered.values().next().value ?? false;
      },
    });
    this.#server.on('headers', (lines, req) => {
      const extra = this.#extraHeaders.get(req);
      extra?.forEach((value, name) => {
        if (name !== 'sec-websocket-protocol') lines.push(`${name}: ${value}`);
      });
    });
    const { idleTimeout } = this.#settings;
    if (idleTimeout > 0) {
      // Every quarter of the timeout: a client silent for half of it is pinged, one silent for all of it cut
      // (so within 125% of it).
      this.#idleSweep = setInterval(() => this.#sweepIdle(), (idleTimeout * 1000) / 4).unref();
    }
  }

  /**
   * The server's 'upgrade' listener: `admit` observes the request and may refuse it (false, once it has
   * answered); then the request goes to `fetch` as any other, with a server whose
   * upgrade() accepts it; a Response instead is written back on the socket, which then closes.
   */
  upgradeListener(
    fetch: FetchApp['fetch'],
    origin: () => string,
    admit: (req: IncomingMessage, res: ServerResponse) => boolean,
    opened: (socket: Duplex) => void,
  ): UpgradeListener {
    const handle = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (socket.destroyed) return;
      const res = responseOnSocket(req, socket);
      if (!admit(req, res)) return; // --proxy-headers, the access log and the limits, as for any request
      const upgrade = upgradeRequest(this.fetchServer, () => !this.#closing && isWebSocketHandshake(req.method ?? '', (name) => headerValue(req, name)));
      this.#pending.add(socket);
      socket.once('close', () => this.#pending.delete(socket));
      callFetch(
        fetch,
        createRequest(req, res, origin()),
        upgrade.server,
        (response) => {
          const accepted = upgrade.accepted();
          if (!accepted) return sendResponse(response, new NodeResponseSink(req, res), this.#logger);
          discardResponse(response); // after upgrade() a Response is ignored, as in Bun (Hono returns one)
          res.detachSocket(socket as Socket);
          res.statusCode = 101;
          res.emit('close'); // the access log's line
          this.#handshake(req, socket, head, accepted, req.socket.remoteAddress ?? '', opened);
        },
        (error) => respondWithAppError(new NodeResponseSink(req, res), error, this.#logger),
      );
    };
    return (req, socket, head) => {
      // node:http left the socket without an 'error' listener: a client's reset must not end the process.
      socket.on('error', (error) => this.#logger.debug(`Connection of ${req.method} ${req.url} failed: ${errorMessage(error)}`));
      const run = () => {
        try {
          handle(req, socket, head);
        } catch (error) {
          this.#logger.error({ err: error }, `Error while upgrading ${req.method} ${req.url}`);
          socket.destroy();
        }
      };
      // A request pipelined before this one still holds the socket (node:http lets go of it on 'finish'):
      // the upgrade waits for it.
      const previous = responseUnderWay(socket);
      if (previous) previous.once('finish', run);
      else run();
    };
  }

  /** Upgrade requests whose fetch has not decided yet (they count against --limit-concurrency). */
  get pendingCount(): number {
    return this.#pending.size;
  }

  #handshake(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    { data, headers }: AcceptedUpgrade,
    remoteAddress: string,
    opened: (socket: Duplex) => void,
  ): void {
    if (socket.destroyed) return;
    if (headers !== undefined) this.#extraHeaders.set(req, headers);
    this.#server.handleUpgrade(req, socket, head, (ws) => {
      this.#pending.delete(socket);
      opened(socket);
      const connection = new NodeWebSocket(ws, socket, this, data, remoteAddress, this.#settings);
      this.#open.add(connection);
      socket.on('data', () => connection.heard()); // any bytes from the client: a frame, or part of one
      callWebSocketHandler(this.#logger, 'open', () => this.#handler.open?.(connection));
      // Upgraded while the server began to close (fetch was still deciding): it gets the 1001 the others got.
      if (this.#closing) connection.close(1001, SHUTDOWN_REASON);
      ws.on('message', (message: RawData, isBinary: boolean) => {
        const payload = message as Buffer; // binaryType 'nodebuffer': one Buffer, fragments joined
        callWebSocketHandler(this.#logger, 'message', () => this.#handler.message?.(connection, isBinary ? ownBuffer(payload) : payload.toString()));
      });
      ws.on('ping', (payload: Buffer) => {
        callWebSocketHandler(this.#logger, 'ping', () => this.#handler.ping?.(connection, payload));
      });
      ws.on('pong', (payload: Buffer) => {
        callWebSocketHandler(this.#logger, 'pong', () => this.#handler.pong?.(connection, payload));
      });
      // Protocol errors (a message over maxPayloadLength: 1009, bad UTF-8: 1007): ws closes with the code.
      ws.on('error', (error) => this.#logger.debug(`WebSocket from ${remoteAddress} closed: ${errorMessage(error)}`));
      ws.on('close', (code: number, reason: Buffer) => {
        this.#open.delete(connection);
        connection.leaveTopics();
        callWebSocketHandler(this.#logger, 'close', () => this.#handler.close?.(connection, code, reason.toString()));
      });
      socket.on('drain', () => connection.drained());
    });
  }

  #sweepIdle(): void {
    const now = Date.now();
    const { idleTimeout, sendPings } = this.#settings;
    for (const connection of this.#open) connection.checkIdle(now, idleTimeout * 1000, sendPings);
  }

  subscribe(connection: NodeWebSocket, topic: string): void {
    let subscribers = this.#topics.get(topic);
    if (!subscribers) this.#topics.set(topic, (subscribers = new Set()));
    subscribers.add(connection);
  }

  unsubscribe(connection: NodeWebSocket, topic: string): void {
    const subscribers = this.#topics.get(topic);
    if (subscribers?.delete(connection) && subscribers.size === 0) this.#topics.delete(topic);
  }

  isSubscribed(connection: NodeWebSocket, topic: string): boolean {
    return this.#topics.get(topic)?.has(connection) ?? false;
  }

  /** Sends to the subscribers of `topic` (but `except`); returns the bytes sent to one, 0 if none. */
  publish(topic: string, message: WebSocketMessage, compress?: boolean, except?: NodeWebSocket): number {
    const subscribers = this.#topics.get(topic);
    if (!subscribers) return 0;
    let sent = 0;
    for (const connection of subscribers) if (connection !== except && connection.send(message, compress) !== 0) sent = messageByteLength(message);
    return sent;
  }

  drain(connection: NodeWebSocket): void {
    callWebSocketHandler(this.#logger, 'drain', () => this.#handler.drain?.(connection));
  }

  /** Shutdown: no more upgrades; open connections get 1001 and close once their clients answer. */
  closeAll(): void {
    this.#closing = true;
    hubs.forget(this.#handler);
    clearInterval(this.#idleSweep);
    for (const connection of this.#open) connection.close(1001, SHUTDOWN_REASON);
  }

  /** Cuts the connections still open, and those whose fetch never decided (the graceful timeout is over). */
  terminateAll(): void {
    for (const connection of this.#open) connection.terminate();
    for (const socket of this.#pending) socket.destroy();
  }
}

/** A `ws` connection as the app's ServerWebSocket (Bun's). */
class NodeWebSocket implements ServerWebSocket {
  readonly #ws: WebSocket;
  readonly #socket: Duplex;
  readonly #hub: WebSocketHub;
  readonly #settings: WebSocketSettings;
  readonly #topics = new Set<string>();
  #lastHeard: number;
  #pinged = false;
  #waitingForDrain = false;
  data: unknown;
  readonly remoteAddress: string;

  constructor(ws: WebSocket, socket: Duplex, hub: WebSocketHub, data: unknown, remoteAddress: string, settings: WebSocketSettings) {
    this.#ws = ws;
    this.#socket = socket;
    this.#hub = hub;
    this.#settings = settings;
    this.#lastHeard = Date.now();
    this.data = data;
    this.remoteAddress = remoteAddress;
  }

  get readyState(): 0 | 1 | 2 | 3 {
    return this.#ws.readyState;
  }

  send(message: WebSocketMessage, compress = false): number {
    if (this.#ws.readyState !== 1) return 0;
    const { backpressureLimit, closeOnBackpressureLimit } = this.#settings;
    if (backpressureLimit > 0 && this.#ws.bufferedAmount >= backpressureLimit) {
      if (closeOnBackpressureLimit) this.close(1008, 'Backpressure limit reached');
      return 0;
    }
    const binary = typeof message !== 'string';
    this.#ws.send(binary ? asBuffer(message) : message, { binary, compress });
    // Past the socket's high-water mark: 'drain' will follow, and with it the app's drain handler.
    if (this.#socket.writableNeedDrain) {
      this.#waitingForDrain = true;
      return -1;
    }
    return messageByteLength(message);
  }

  sendText(message: string, compress?: boolean): number {
    return this.send(String(message), compress);
  }

  sendBinary(message: ArrayBufferLike | ArrayBufferView, compress?: boolean): number {
    return this.send(message, compress);
  }

  close(code = 1000, reason = ''): void {
    if (this.#ws.readyState >= 2) return;
    this.#ws.close(code, reason);
  }

  terminate(): void {
    this.#ws.terminate();
  }

  ping(data?: WebSocketMessage): void {
    if (this.#ws.readyState === 1) this.#ws.ping(data === undefined || typeof data === 'string' ? data : asBuffer(data));
  }

  getBufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  subscribe(topic: string): void {
    this.#topics.add(topic);
    this.#hub.subscribe(this, topic);
  }

  unsubscribe(topic: string): void {
    this.#topics.delete(topic);
    this.#hub.unsubscribe(this, topic);
  }

  isSubscribed(topic: string): boolean {
    return this.#hub.isSubscribed(this, topic);
  }

  publish(topic: string, message: WebSocketMessage, compress?: boolean): number {
    return this.#hub.publish(topic, message, compress, this.#settings.publishToSelf ? undefined : this);
  }

  /** Something came from the client: it is not idle. */
  heard(): void {
    this.#lastHeard = Date.now();
    this.#pinged = false;
  }

  /** Cuts a client silent for `timeoutMs`; pings one silent for half of it (it answers if it lives). */
  checkIdle(now: number, timeoutMs: number, sendPings: boolean): void {
    const silentMs = now - this.#lastHeard;
    if (silentMs >= timeoutMs) this.terminate();
    else if (silentMs >= timeoutMs / 2 && sendPings && !this.#pinged) {
      this.#pinged = true;
      this.ping();
    }
  }

  drained(): void {
    if (!this.#waitingForDrain) return;
    this.#waitingForDrain = false;
    this.#hub.drain(this);
  }

  leaveTopics(): void {
    for (const topic of this.#topics) this.#hub.unsubscribe(this, topic);
    this.#topics.clear();
  }
}

/** A ServerResponse on an upgrade request's socket, for a request the app answers instead of upgrading. */
function responseOnSocket(req: IncomingMessage, socket: Duplex): ServerResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.once('finish', () => {
    res.detachSocket(socket as Socket);
    endConnection(socket);
  });
  return res;
}

/** Ends a connection and frees it once its last bytes are out, whether or not the client ends its side. */
export function endConnection(socket: Duplex, lastBytes?: string): void {
  socket.end(lastBytes);
  if (socket.writableFinished) socket.destroy();
  else socket.once('finish', () => socket.destroy());
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** A Buffer alone on its ArrayBuffer, as Bun gives them: Bun apps (Hono's hono/bun) read `message.buffer`. */
function ownBuffer(payload: Buffer): Buffer {
  return payload.byteOffset === 0 && payload.buffer.byteLength === payload.byteLength ? payload : Buffer.from(payload.buffer.slice(payload.byteOffset, payload.byteOffset + payload.byteLength));
}

function asBuffer(message: ArrayBufferLike | ArrayBufferView): Buffer {
  return ArrayBuffer.isView(message) ? Buffer.from(message.buffer, message.byteOffset, message.byteLength) : Buffer.from(message);
}
