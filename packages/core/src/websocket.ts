// WebSocket apps, in Bun.serve()'s terms: `fetch(request, server)` upgrades with `server.upgrade()`, and the
// app's `websocket` handlers get a ServerWebSocket. Apps and helpers written for Bun (Hono's `hono/bun`,
// crossws's Bun adapter) run unchanged; every backend that lists `supports.websocket` implements these.
import type { Logger } from './backend.js';
import { ChaussetteError } from './errors.js';

/** A message as the app sends it. */
export type WebSocketMessage = string | ArrayBufferLike | ArrayBufferView;

/** An open WebSocket connection, as the `websocket` handlers see it. */
export interface ServerWebSocket<Data = unknown> {
  /** What the app passed to `server.upgrade(request, { data })`. */
  data: Data;
  /** The client's address (after --proxy-headers). */
  readonly remoteAddress: string;
  /** 0 connecting, 1 open, 2 closing, 3 closed: WebSocket.readyState's values. */
  readonly readyState: 0 | 1 | 2 | 3;
  /**
   * Sends a text (string) or binary message. Returns the bytes sent, -1 when they were queued behind
   * backpressure (`drain` follows once the client catches up), 0 when dropped (closed connection, or past
   * `backpressureLimit`).
   */
  send(message: WebSocketMessage, compress?: boolean): number;
  sendText(message: string, compress?: boolean): number;
  sendBinary(message: ArrayBufferLike | ArrayBufferView, compress?: boolean): number;
  /** Starts the closing handshake (code 1000 unless given). */
  close(code?: number, reason?: string): void;
  /** Cuts the connection without a closing handshake. */
  terminate(): void;
  ping(data?: WebSocketMessage): void;
  /** Bytes queued for this client and not sent yet. */
  getBufferedAmount(): number;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  isSubscribed(topic: string): boolean;
  /** Sends to every connection subscribed to `topic` but this one (see `publishToSelf`). */
  publish(topic: string, message: WebSocketMessage, compress?: boolean): number;
}

/** The `websocket` member of a fetch app: Bun.serve()'s handlers and options. */
export interface WebSocketHandler<Data = unknown> {
  open?(ws: ServerWebSocket<Data>): unknown;
  /** A whole message: a string for a text frame, a Buffer for a binary one. */
  message?(ws: ServerWebSocket<Data>, message: string | Buffer): unknown;
  /** Once the connection is closed, with the client's close code (1006 if it just vanished) and reason. */
  close?(ws: ServerWebSocket<Data>, code: number, reason: string): unknown;
  /** The client has read what was queued: `send()` goes straight out again. */
  drain?(ws: ServerWebSocket<Data>): unknown;
  ping?(ws: ServerWebSocket<Data>, data: Buffer): unknown;
  pong?(ws: ServerWebSocket<Data>, data: Buffer): unknown;
  /** A longer message closes the connection with 1009. Default 16 MiB, at most 1 GiB. */
  maxPayloadLength?: number;
  /** Seconds without a message before the connection is closed. Default 120; 0: never. */
  idleTimeout?: number;
  /** Bytes queued for one client past which `send()` drops messages. Default 16 MiB; 0: no limit. */
  backpressureLimit?: number;
  /** Close the connection (1008) instead of dropping messages past `backpressureLimit`. Default false. */
  closeOnBackpressureLimit?: boolean;
  /** Ping idle clients, so that live ones do not reach the idle timeout. Default true. */
  sendPings?: boolean;
  /** Negotiate permessage-deflate with clients that offer it. Default false. */
  perMessageDeflate?: boolean;
  /** `ws.publish()` also sends to the publishing connection. Default false. */
  publishToSelf?: boolean;
}

/** What `server.upgrade()` takes. */
export interface UpgradeOptions<Data = unknown> {
  /** Becomes `ws.data`. */
  data?: Data;
  /** Extra headers for the 101 Switching Protocols response (a cookie, a chosen sub-protocol). */
  headers?: ConstructorParameters<typeof Headers>[0];
}

/** The second argument of a fetch handler, as Bun.serve() passes it. */
export interface FetchServer {
  /**
   * Makes this request a WebSocket connection, once `fetch` returns (return nothing, or undefined, then).
   * False when the request is no WebSocket handshake, or the app has no `websocket` handlers.
   */
  upgrade<Data = unknown>(request: Request, options?: UpgradeOptions<Data>): boolean;
  /** Sends to every connection subscribed to `topic`; returns the bytes sent to one (0: none subscribed). */
  publish(topic: string, message: WebSocketMessage, compress?: boolean): number;
  /** How many connections are subscribed to `topic`. */
  subscriberCount(topic: string): number;
}

/** WebSocketHandler's options with their defaults (Bun's). */
export type WebSocketSettings = Required<
  Pick<
    WebSocketHandler,
    'maxPayloadLength' | 'idleTimeout' | 'backpressureLimit' | 'closeOnBackpressureLimit' | 'sendPings' | 'perMessageDeflate' | 'publishToSelf'
  >
>;

const DEFAULT_SETTINGS: WebSocketSettings = {
  maxPayloadLength: 16 * 1024 * 1024,
  idleTimeout: 120,
  backpressureLimit: 16 * 1024 * 1024,
  closeOnBackpressureLimit: false,
  sendPings: true,
  perMessageDeflate: false,
  publishToSelf: false,
};

// uWebSockets.js keeps sizes in 32 bits.
const MAX_BYTES = 2 ** 30;

const HANDLERS = ['open', 'message', 'close', 'drain', 'ping', 'pong'] as const;

/** Checks an app's `websocket` member and fills in the defaults; `label` names the app in messages. */
export function websocketSettings(handler: WebSocketHandler, label = 'the app'): WebSocketSettings {
  const settings = { ...DEFAULT_SETTINGS };
  for (const name of HANDLERS) {
    if (handler[name] !== undefined && typeof handler[name] !== 'function') {
      throw new ChaussetteError(`${label}: websocket.${name} must be a function`);
    }
  }
  for (const name of ['maxPayloadLength', 'idleTimeout', 'backpressureLimit'] as const) {
    const value = handler[name];
    if (value === undefined) continue;
    const least = name === 'maxPayloadLength' ? 1 : 0;
    if (!Number.isInteger(value) || value < least || value > MAX_BYTES) {
      throw new ChaussetteError(`${label}: websocket.${name} must be a whole number from ${least} to ${MAX_BYTES} (got ${String(value)})`);
    }
    settings[name] = value;
  }
  if (handler.idleTimeout !== undefined && handler.idleTimeout !== 0 && (handler.idleTimeout < 8 || handler.idleTimeout > 900)) {
    // uWebSockets.js's range (8 to 960, in ticks of 4 s): the same on every backend.
    throw new ChaussetteError(`${label}: websocket.idleTimeout must be 0 (never) or from 8 to 900 seconds (got ${handler.idleTimeout})`);
  }
  for (const name of ['closeOnBackpressureLimit', 'sendPings', 'perMessageDeflate', 'publishToSelf'] as const) {
    if (handler[name] !== undefined) settings[name] = Boolean(handler[name]);
  }
  return settings;
}

/** A `websocket` member that is a handler object, for app detection. */
export function isWebSocketHandler(value: unknown): value is WebSocketHandler {
  return typeof value === 'object' && value !== null && HANDLERS.some((name) => typeof (value as Record<string, unknown>)[name] === 'function');
}

/** A request a WebSocket server can accept (RFC 6455's opening handshake): `server.upgrade()` says false to others. */
export function isWebSocketHandshake(method: string, header: (name: string) => string | undefined): boolean {
  return (
    method === 'GET' &&
    header('upgrade')?.toLowerCase() === 'websocket' &&
    /^[+/0-9A-Za-z]{22}==$/.test(header('sec-websocket-key') ?? '') &&
    header('sec-websocket-version') === '13'
  );
}

/** A message's size in bytes, as `send()` and `publish()` return it. */
export function messageByteLength(message: WebSocketMessage): number {
  return typeof message === 'string' ? Buffer.byteLength(message) : message.byteLength;
}

/** Calls one of the app's `websocket` handlers: a throw or a rejection is logged, and the connection goes on. */
export function callWebSocketHandler(logger: Logger, name: keyof WebSocketHandler, call: () => unknown): void {
  const report = (error: unknown) => logger.error({ err: error }, `Error in the app's websocket.${name} handler`);
  try {
    const result = call() as { then?: unknown } | undefined;
    if (typeof result?.then === 'function') (result as Promise<unknown>).then(undefined, report);
  } catch (error) {
    report(error);
  }
}

/** What `server.upgrade()` took: `data` for ws.data, and the 101 response's extra headers. */
/**
 * What a backend keeps per `websocket` handler (its open connections and topics), made on first use and
 * shared by every listen target that serves the app, so that a topic reaches subscribers on all of them.
 * `forget()` it at shutdown: a server started later with the same app gets a fresh one.
 */
export function perWebSocketHandler<T>(create: (handler: WebSocketHandler, logger: Logger) => T): {
  get(handler: WebSocketHandler, logger: Logger): T;
  forget(handler: WebSocketHandler): void;
} {
  const made = new WeakMap<WebSocketHandler, T>();
  return {
    get(handler, logger) {
      let value = made.get(handler);
      if (value === undefined) made.set(handler, (value = create(handler, logger)));
      return value;
    },
    forget: (handler) => void made.delete(handler),
  };
}

export interface AcceptedUpgrade {
  data: unknown;
  headers: Headers | undefined;
}

/**
 * The FetchServer of one upgrade request: `shared`'s publish() and subscriberCount(), and an upgrade()
 * that accepts once, when `canUpgrade()` (a WebSocket handshake, a server not closing). `accepted()`
 * says what it took. The headers are built in upgrade(), so that bad ones throw in the app's fetch, as in Bun.
 */
export function upgradeRequest(shared: FetchServer, canUpgrade: () => boolean): { server: FetchServer; accepted(): AcceptedUpgrade | undefined } {
  let accepted: AcceptedUpgrade | undefined;
  const server: FetchServer = {
    ...shared,
    upgrade: (_request, options: UpgradeOptions = {}) => {
      if (accepted || !canUpgrade()) return false;
      accepted = { data: options.data, headers: options.headers === undefined ? undefined : new Headers(options.headers) };
      return true;
    },
  };
  return { server, accepted: () => accepted };
}
