import {
  callWebSocketHandler,
  discardResponse,
  errorMessage,
  type FetchHandler,
  isWebSocketHandshake,
  messageByteLength,
  perWebSocketHandler,
  type FetchServer,
  type Logger,
  type ServerWebSocket,
  upgradeRequest,
  type WebSocketHandler,
  type WebSocketMessage,
  sendResponse,
  type WebSocketSettings,
  websocketSettings,
} from '@chaussette/core';
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, WebSocketBehavior } from 'uWebSockets.js';
import { Exchange, type ServerState } from './exchange.js';
import { fetchExchange } from './fetch-handler.js';
import type { Uws } from './uws.js';

const SHUTDOWN_REASON = 'Server shutting down';
const text = new TextDecoder();
// uWS cuts a message over its limit without a close frame (the client sees 1006). It is given this much
// more (or maxPayloadLength more, if that is less), so that chaussette closes with 1009 (Message Too Big)
// as the other backends do; only a message over both is cut. The size is the only protocol error
// JavaScript sees: uWS fails every other one (a reserved opcode, invalid UTF-8, a bad close frame...) in
// C++, cutting the TCP connection before any handler runs (docs/websockets.md has the table).
const PAYLOAD_MARGIN = 1024 * 1024;
const NO_LIMIT = 2 ** 31 - 1;
const BACKPRESSURE_MARGIN = 64 * 1024;
const UWS_TICK_SECONDS = 4;

/** What uWS keeps for each WebSocket (its user data): the app's view of it. */
interface Held {
  connection: UwsWebSocket;
}

const hubs = perWebSocketHandler((handler, logger) => new UwsWebSockets(handler, logger));

/** The app's WebSockets: one for all its listen targets (one uWS App each), so topics reach them all. */
export const uwsWebSocketsFor = hubs.get;

/**
 * The WebSocket side of a fetch app on uWebSockets.js: uWS's own WebSockets (backpressure, idle timeout,
 * pings, pub/sub topics), with `fetch` deciding each upgrade as Bun.serve() does.
 */
export class UwsWebSockets {
  /** The uWS App of each listen target: uWS's topics are per App. */
  readonly #apps: TemplatedApp[] = [];
  readonly #handler: WebSocketHandler;
  readonly #settings: WebSocketSettings;
  readonly #logger: Logger;
  readonly #open = new Set<UwsWebSocket>();
  #whenNoneOpen: (() => void)[] = [];
  #closing = false;

  /** What `fetch` gets as its second argument on every request that is no upgrade. */
  readonly fetchServer: FetchServer;

  constructor(handler: WebSocketHandler, logger: Logger) {
    this.#handler = handler;
    this.#settings = websocketSettings(handler);
    this.#logger = logger;
    this.fetchServer = {
      upgrade: () => false,
      publish: (topic, message, compress) => this.publish(topic, message, compress),
      subscriberCount: (topic) => this.#apps.reduce((count, app) => count + app.numSubscribers(topic), 0),
    };
  }

  /** Sends to every subscriber of `topic`, on every App but `except`'s connection (uWS's ws.publish() leaves it out). */
  publish(topic: string, message: WebSocketMessage, compress = false, except?: { app: TemplatedApp; ws: WebSocket<Held> }): number {
    const binary = typeof message !== 'string';
    let sent = false;
    for (const app of this.#apps) {
      // uWS's ws.publish() sends nothing from a connection that never subscribed; app.publish() then, as
      // the publisher cannot be among the subscribers.
      if (app === except?.app && except.ws.isSubscribed(topic)) sent = except.ws.publish(topic, message as string | ArrayBuffer, binary, compress) || sent;
      else if (app.numSubscribers(topic) > 0) sent = app.publish(topic, message as string | ArrayBuffer, binary, compress) || sent;
    }
    return sent ? messageByteLength(message) : 0;
  }

  /** Serves the app's WebSockets on `app`'s current router (uWS's `app.ws('/*', …)`). */
  attach(app: TemplatedApp, uws: Uws, fetch: FetchHandler, origin: () => string, state: ServerState): void {
    // Once per App, whose routers (one per TLS server name) each get the route.
    if (!this.#apps.includes(app)) this.#apps.push(app);
    app.ws('/*', this.#behavior(app, uws, fetch, origin, state));
  }

  #behavior(app: TemplatedApp, uws: Uws, fetch: FetchHandler, origin: () => string, state: ServerState): WebSocketBehavior<Held> {
    const settings = this.#settings;
    return {
      maxPayloadLength: settings.maxPayloadLength + Math.min(settings.maxPayloadLength, PAYLOAD_MARGIN),
      // uWS counts in ticks of 4 s, and cuts within the last one: one more tick, so never before the timeout.
      idleTimeout: settings.idleTimeout && settings.idleTimeout + UWS_TICK_SECONDS,
      // UwsWebSocket.send() holds the limit: uWS, past its own, drops even a close frame (the client sees
      // 1006), so it is given room for the 1008.
      maxBackpressure: settings.backpressureLimit ? settings.backpressureLimit + BACKPRESSURE_MARGIN : NO_LIMIT,
      // For publications, which reach subscribers in C++: past the limit uWS cuts the connection (1006).
      closeOnBackpressureLimit: settings.closeOnBackpressureLimit,
      sendPingsAutomatically: settings.sendPings,
      compression: settings.perMessageDeflate ? uws.SHARED_COMPRESSOR | uws.SHARED_DECOMPRESSOR : uws.DISABLED,
      upgrade: (res: HttpResponse, req: HttpRequest, context) => {
        const exchange = new Exchange(res, req, state);
        try {
          if (!state.refused(exchange)) this.#upgrade(app, exchange, fetch, origin, context);
        } finally {
          exchange.leaveHandler();
        }
      },
      open: (ws) => {
        const connection = ws.getUserData().connection;
        connection.opened(ws);
        this.#open.add(connection);
        callWebSocketHandler(this.#logger, 'open', () => this.#handler.open?.(connection));
        // Upgraded while the server began to close (fetch was still deciding): it gets the 1001 the others got.
        if (this.#closing) connection.close(1001, SHUTDOWN_REASON);
      },
      message: (ws, message, isBinary) => {
        const connection = ws.getUserData().connection;
        if (message.byteLength > settings.maxPayloadLength) {
          connection.close(1009, 'Message too big');
          return;
        }
        // uWS's ArrayBuffer is only valid during this call: the app gets a copy.
        const payload = isBinary ? Buffer.from(message.slice(0)) : text.decode(message);
        callWebSocketHandler(this.#logger, 'message', () => this.#handler.message?.(connection, payload));
      },
      drain: (ws) => {
        const connection = ws.getUserData().connection;
        callWebSocketHandler(this.#logger, 'drain', () => this.#handler.drain?.(connection));
      },
      ping: (ws, message) => {
        const connection = ws.getUserData().connection;
        callWebSocketHandler(this.#logger, 'ping', () => this.#handler.ping?.(connection, Buffer.from(message.slice(0))));
      },
      pong: (ws, message) => {
        const connection = ws.getUserData().connection;
        callWebSocketHandler(this.#logger, 'pong', () => this.#handler.pong?.(connection, Buffer.from(message.slice(0))));
      },
      close: (ws, code, message) => {
        const connection = ws.getUserData().connection;
        connection.closed();
        this.#open.delete(connection);
        if (this.#open.size === 0) for (const resolve of this.#whenNoneOpen.splice(0)) resolve();
        callWebSocketHandler(this.#logger, 'close', () => this.#handler.close?.(connection, code, text.decode(message)));
      },
    };
  }

  #upgrade(app: TemplatedApp, exchange: Exchange, fetch: FetchHandler, origin: () => string, context: unknown): void {
    const upgrade = upgradeRequest(this.fetchServer, () => !this.#closing && isWebSocketHandshake(exchange.method, (name) => exchange.header(name)));
    fetchExchange(fetch, exchange, origin, upgrade.server, this.#logger, (response) => {
      const accepted = upgrade.accepted();
      if (!accepted) return sendResponse(response, exchange, this.#logger);
      discardResponse(response); // after upgrade() a Response is ignored, as in Bun (Hono returns one)
      const connection = new UwsWebSocket(app, this, accepted.data, exchange.remoteAddress ?? '', this.#settings);
      exchange.upgrade({ connection } satisfies Held, accepted.headers, context);
    });
  }

  /** Shutdown: no more upgrades; open connections get 1001. Resolves once all are closed. */
  closeAll(): Promise<void> {
    this.#closing = true;
    hubs.forget(this.#handler);
    for (const connection of this.#open) connection.close(1001, SHUTDOWN_REASON);
    return this.#open.size === 0 ? Promise.resolve() : new Promise((resolve) => this.#whenNoneOpen.push(resolve));
  }
}

/** A uWS WebSocket as the app's ServerWebSocket (Bun's). */
class UwsWebSocket implements ServerWebSocket {
  readonly #app: TemplatedApp;
  readonly #hub: UwsWebSockets;
  readonly #settings: WebSocketSettings;
  #ws: WebSocket<Held> | undefined;
  #state: 0 | 1 | 2 | 3 = 0;
  data: unknown;
  readonly remoteAddress: string;

  constructor(app: TemplatedApp, hub: UwsWebSockets, data: unknown, remoteAddress: string, settings: WebSocketSettings) {
    this.#app = app;
    this.#hub = hub;
    this.data = data;
    this.remoteAddress = remoteAddress;
    this.#settings = settings;
  }

  opened(ws: WebSocket<Held>): void {
    this.#ws = ws;
    this.#state = 1;
  }

  /** uWS's WebSocket may not be touched once closed: every call checks. */
  closed(): void {
    this.#ws = undefined;
    this.#state = 3;
  }

  get readyState(): 0 | 1 | 2 | 3 {
    return this.#state;
  }

  send(message: WebSocketMessage, compress = false): number {
    if (this.#state !== 1) return 0;
    const { backpressureLimit, closeOnBackpressureLimit } = this.#settings;
    if (backpressureLimit > 0 && this.#ws!.getBufferedAmount() >= backpressureLimit) {
      if (closeOnBackpressureLimit) this.close(1008, 'Backpressure limit reached');
      return 0;
    }
    const binary = typeof message !== 'string';
    // uWS: 1 sent, 0 sent but queued (backpressure), 2 dropped (over maxBackpressure).
    switch (this.#ws!.send(message as string | ArrayBuffer, binary, compress)) {
      case 1:
        return messageByteLength(message);
      case 0:
        return -1;
      default:
        if (closeOnBackpressureLimit) this.close(1008, 'Backpressure limit reached');
        return 0;
    }
  }

  sendText(message: string, compress?: boolean): number {
    return this.send(String(message), compress);
  }

  sendBinary(message: ArrayBufferLike | ArrayBufferView, compress?: boolean): number {
    return this.send(message, compress);
  }

  close(code = 1000, reason = ''): void {
    if (this.#state !== 1) return;
    this.#state = 2;
    this.#ws!.end(code, reason);
  }

  terminate(): void {
    if (this.#state === 1 || this.#state === 2) this.#ws?.close();
  }

  ping(data?: WebSocketMessage): void {
    if (this.#state === 1) this.#ws!.ping(data as string | ArrayBuffer | undefined);
  }

  getBufferedAmount(): number {
    return this.#state === 1 ? this.#ws!.getBufferedAmount() : 0;
  }

  subscribe(topic: string): void {
    if (this.#state === 1) this.#ws!.subscribe(topic);
  }

  unsubscribe(topic: string): void {
    if (this.#state === 1) this.#ws!.unsubscribe(topic);
  }

  isSubscribed(topic: string): boolean {
    return this.#state === 1 && this.#ws!.isSubscribed(topic);
  }

  publish(topic: string, message: WebSocketMessage, compress = false): number {
    // Closed (in websocket.close, as the chat example publishes "someone left", or later): uWS's socket
    // can no longer publish, and has left its topics already, so the hub publishes through the Apps: to
    // every subscriber, which is every one but this connection, as on the other backends.
    if (this.#state === 3) return this.#hub.publish(topic, message, compress);
    if (this.#state !== 1) return 0;
    // Bun's ws.publish() leaves this connection out, unless publishToSelf.
    return this.#hub.publish(topic, message, compress, this.#settings.publishToSelf ? undefined : { app: this.#app, ws: this.#ws! });
  }
}
