// The backend contract: everything a server engine needs from chaussette, and all it must give back.
// Core acquires and validates sockets and loads the app; a backend turns both into a running server.
//
// A backend's duties, beyond the types (@chaussette/testkit's runConformanceSuite checks each):
// - Serve every kind in `appKinds`. A node app through guardedListener() (a throw or rejection is a 500,
//   logged with its stack); a fetch app through the fetch layer (fetch-layer.ts: installFastResponse()
//   once, a LazyRequest subclass, callFetch(), sendResponse() through a ResponseSink over the engine). Multi-value headers stay apart (each set-cookie), HEAD has no body, bodies stream both ways
//   with backpressure, the app's stream stops when the client leaves.
// - Before the app: refusalFor() on every request head (limits.ts: 400 for bad framing or Host, 413,
//   414, 501, 503, 505), answered with refusal()'s words, the connection closed, and nothing pipelined
//   behind a refused request read. `options.limits` through resolveLimits(); a limit the engine cannot
//   enforce is a ChaussetteError naming its flag. Bytes it cannot parse: a 4xx or a close, never the app.
// - ServeOptions: accessLog once per response, trustedProxies through clientAddress(), backendOptions
//   refused when unknown (refuseBackendOptions() for a backend that takes none).
// - `supports`: only what it lists (core refuses the others' flags before serve()).
// - ServerHandle.close(): see its comment; no request on a kept connection is lost.
// - Errors the user can fix are ChaussetteErrors (one line, no stack); listen errors go through as they are.
// A backend on a node:http server gets all of this from @chaussette/node-http's serveOnNodeServer().
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BlockList } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TlsSettings } from './tls.js';
import type { FetchServer, WebSocketHandler } from './websocket.js';

/** A Node.js request listener, as `http.createServer()` takes it (Express, Connect, Koa's `callback()`). */
export type NodeListener = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * A WHATWG fetch handler (Hono, itty-router, Bun and Workers style). `server` is Bun.serve()'s second
 * argument: after `server.upgrade(request)` the handler returns no Response.
 */
export type FetchHandler = (request: Request, server: FetchServer) => Response | undefined | Promise<Response | undefined>;

/** node:http's 'upgrade' listener: the request, its socket, and the bytes read past its head. */
export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => unknown;

/** The app kinds core can hand over. Framework objects (Koa, Fastify…) arrive as one of these. */
export type AppKind = 'node' | 'fetch';

interface AppBase {
  /** Says what was loaded, for the "Application is …" line: `an Express app (node request listener)`. */
  description: string;
  /** What the app needs and lacks, one line each, logged at start-up (a framework build's ORIGIN unset…). */
  notes?: readonly string[];
  /** The value the app module exported (or its factory returned), for backends that serve a framework natively. */
  source: unknown;
  /** Awaited once before the server starts listening (e.g. `fastify.ready()`). */
  ready?: () => Promise<void>;
  /** Awaited once after the server has stopped (e.g. `fastify.close()`). */
  close?: () => Promise<void>;
}
export interface NodeApp extends AppBase {
  kind: 'node';
  listener: NodeListener;
  /** Requests to switch protocols (WebSocket with the `ws` package, socket.io), for backends built on node:http. */
  upgrade?: UpgradeListener;
}
export interface FetchApp extends AppBase {
  kind: 'fetch';
  fetch: FetchHandler;
  /** The connections `fetch` upgrades with `server.upgrade()` (see WebSocketHandler), on backends that support it. */
  websocket?: WebSocketHandler;
}
export type App = NodeApp | FetchApp;

/**
 * Where to listen, parsed and validated by core. A backend never parses bind strings or flags.
 * Core removes a stale unix socket before `serve()`, and applies the socket mode and unlinks the file after.
 */
export type ListenTarget =
  /**
   * `host` is an IP literal (core resolved any name); `port` 0 asks the kernel for a free port.
   * `reusePort` (--reuse-port): share the port with other processes that set it too (SO_REUSEPORT).
   * Only for a backend that `supports` it; without it, the port is the server's own.
   */
  | { type: 'tcp'; host: string; port: number; backlog: number; reusePort?: boolean }
  | { type: 'unix'; path: string; backlog: number }
  /** An inherited socket, checked to be a listening stream socket of the given family (`path`: a unix socket's file). */
  | { type: 'fd'; fd: number; family: 'tcp' | 'unix'; path?: string; backlog: number };

/** The address a listening socket is actually bound to, as the backend reads it back from its server. */
export type BoundAddress = { type: 'tcp'; host: string; port: number } | { type: 'unix'; path: string };

/** The logging calls chaussette makes; a pino logger fits as it is. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(object: { err: unknown }, message: string): void;
}

export interface ServeOptions {
  /** Where to report app errors (with their stack) and server events. */
  logger: Logger;
  /** Optional (the CLI's --access-log): called once per response, when it is complete or the client left. */
  accessLog?: (entry: AccessEntry) => void;
  /**
   * Optional (--proxy-headers): when the peer is one of these proxies, the client address is taken from
   * X-Forwarded-For (see `clientAddress()`), for the access log and for the app: `req.socket.remoteAddress`
   * for node apps, `request.ip` for fetch apps.
   */
  trustedProxies?: TrustedProxies;
  /**
   * Optional: options for the backend's engine, as the user gave them (the config file's
   * `backendOptions`). Each backend documents the keys it takes, and refuses the ones it does not.
   */
  backendOptions?: Readonly<Record<string, unknown>>;
  /**
   * The limits the user set (the CLI's --limit-* and --timeout-* flags). The backend enforces these and
   * `DEFAULT_LIMITS` for the rest (`resolveLimits()`); one it cannot enforce is an error saying so.
   */
  limits?: Partial<Limits>;
  /**
   * Optional (--peercreds), only for a backend that `supports` it: the pid, uid and gid of a unix-socket
   * client (SO_PEERCRED) as `req.peerCredentials` for node apps, `request.peerCredentials` for fetch apps.
   */
  peerCredentials?: boolean;
  /**
   * Optional (--certfile…), only for a backend that `supports` tls: serve TLS on every socket, with h2
   * offered by ALPN when `tls.http2` and the backend supports http2. Node apps read the client's
   * certificate as node:tls gives it (`req.socket.getPeerCertificate()`, `req.socket.authorized`);
   * fetch apps get the verified one as `request.peerCertificate` (node:crypto's X509Certificate).
   */
  tls?: TlsSettings;
  /**
   * Optional (--h2c), only for a backend that `supports` http2, without `tls`: HTTP/2 with prior
   * knowledge (a connection that opens with the HTTP/2 preface) beside HTTP/1.1 on the same socket.
   */
  h2c?: boolean;
}

/**
 * What one client may ask of the server, the same on every backend. 0 turns a limit off, except
 * `requestHeadersBytes`. A refused request is answered with the status given and its connection closed.
 */
export interface Limits {
  /** A request body larger than this: 413, before the app sees it (or, for a chunked body, once it grows past it). */
  requestBodyBytes: number;
  /** A request line (method, target, version) longer than this: 414. */
  requestLineBytes: number;
  /** The request line and headers together: past this, 431. */
  requestHeadersBytes: number;
  /**
   * More header fields than this: 431, whatever their size. An engine keeps only so many (node:http its
   * maxHeadersCount), and a check reading those would miss a Transfer-Encoding or a second Host after them.
   */
  requestFields: number;
  /** A connection that has not sent a whole request head this long after it opened (or its last request began) is closed: 408. */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** Past this many requests in flight at once: 503. */
  concurrency: number;
}

/** One line of an access log, in the terms of the Common Log Format. */
export interface AccessEntry {
  /** The client's address (after --proxy-headers), undefined if unknown. */
  remoteAddress: string | undefined;
  method: string;
  /** The request target: path and query. */
  url: string;
  /** `1.1`, `2.0`. */
  httpVersion: string;
  status: number;
  /** Bytes of the response body, when the response said (content-length); undefined otherwise. */
  bytes: number | undefined;
  /** The request's Referer and User-Agent headers, for the Combined Log Format. */
  referer: string | undefined;
  userAgent: string | undefined;
  /** From the request's arrival to the end of the response. */
  durationMs: number;
  /** The client left before the response was complete. */
  aborted: boolean;
}

/**
 * Which peers may set the client address through X-Forwarded-For: every peer, or those at one of
 * `addresses`, in one of `networks`, and with `unixSocketPeers` those on a unix socket (which have no address).
 */
export type TrustedProxies =
  | { all: true }
  | { all: false; addresses: ReadonlySet<string>; networks?: BlockList; unixSocketPeers?: boolean };

export interface ServerHandle {
  /** The address actually bound (the real port when 0 was asked). */
  address: BoundAddress;
  /**
   * Graceful and idempotent: stop accepting, close idle keep-alive connections, let in-flight requests
   * finish (their connections close after the response), send open WebSockets the close code 1001, and
   * after `timeoutMs` close whatever is left. Resolves when every connection is closed.
   */
  close(timeoutMs: number): Promise<void>;
  /**
   * For a server with `tls`: new handshakes get these certificates (SIGHUP, after a renewal); open
   * connections keep theirs. Core has read and checked them (loadTls) before it calls this.
   */
  updateTls?(tls: TlsSettings): void;
}

export interface Backend {
  /** The name users pass to `--backend`, e.g. `node`. */
  name: string;
  /** Optional: the server engine and its version, for the start-up line, e.g. `uWebSockets.js 20.30.0`. */
  engine?: string;
  /** The app kinds `serve()` takes. Core refuses, with a clear message, an app of any other kind. */
  appKinds: readonly AppKind[];
  /** Optional features it implements; core refuses the flags of the others, with a clear message. */
  /**
   * `tls`: ServeOptions.tls, its certificates replaced by ServerHandle.updateTls. `http2`: h2 by ALPN
   * with tls, and ServeOptions.h2c; HTTP/2 requests get the same limits, fetch layer and graceful close
   * (GOAWAY, streams in flight finish) as HTTP/1.1 ones. `nodeCluster`: it listens through node:net, so
   * in a node:cluster worker (PM2's cluster mode) the primary holds the socket and shares it among the
   * workers; core then leaves a unix socket's file to the primary.
   */
  supports?: { reusePort?: boolean; peerCredentials?: boolean; websocket?: boolean; tls?: boolean; http2?: boolean; nodeCluster?: boolean };
  /**
   * Optional: claim an exported value before core's own detection, to serve a framework natively (a
   * Fastify backend claims Fastify plugins). Return undefined to let core detect it. `native` false:
   * another backend serves it (core asks only about bare functions it would otherwise take for a
   * listener by their parameters): return an app that backend can serve (a node listener over the
   * framework), or undefined.
   */
  recognize?: (value: unknown, native: boolean) => App | undefined;
  /**
   * Optional: throws a ChaussetteError for limits or backendOptions it cannot take, as serve() would:
   * core asks before the app loads, so that a wrong flag is one line with nothing before it.
   */
  refuseOptions?(options: Pick<ServeOptions, 'limits' | 'backendOptions'>): void;
  /** Start serving `app` on `target`; resolves once the server accepts connections. */
  serve(app: App, target: ListenTarget, options: ServeOptions): Promise<ServerHandle>;
}
