import { Server as HttpServer } from 'node:http';
import type { App, AppKind, FetchHandler, NodeApp, NodeListener, UpgradeListener } from './backend.js';
import { ChaussetteError } from './errors.js';
import { isWebSocketHandler, websocketSettings } from './websocket.js';

/** How to read a plain function: `auto` goes by its declared parameters, `(req, res)` or `(request)`. */
export type AppInterface = 'auto' | AppKind;

const ACCEPTED =
  'a node (req, res) listener (Express, Connect), a fetch (request) => Response handler, an object with a fetch() method (Hono), a Koa app, a Fastify instance, a NestJS module or application, an unstarted http.Server, or a framework build directory (build, .output, dist, .next)';

/** How an app module hands chaussette its app, for messages about one that does not. */
export const EXPORT_THE_APP = 'export the app: module.exports = app (CommonJS) or export default app (ES module)';

type Shape = Record<string, unknown> & ((...args: unknown[]) => unknown);

/**
 * Recognises what an app module exported and wraps it as an App of a kind backends serve.
 * `label` names it in messages (`./app.js:default`).
 */
export function toApp(value: unknown, label: string, appInterface: AppInterface = 'auto'): App {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
    throw notAnApp(label, value);
  }
  const shape = value as Shape;
  if (appInterface === 'node') {
    if (typeof value !== 'function') throw notAnApp(label, value, '--interface node needs a (req, res) function');
    return nodeApp(value, `${describeFunction(shape)} (node request listener, as --interface node says)`, value as NodeListener);
  }
  if (appInterface === 'fetch') {
    if (typeof shape.fetch === 'function') return fetchObject(shape, label);
    if (typeof value !== 'function') throw notAnApp(label, value, '--interface fetch needs a (request) => Response function or an object with fetch()');
    return fetchApp(value, `${describeFunction(shape)} (fetch handler, as --interface fetch says)`, value as FetchHandler);
  }

  if (answersEveryName(shape)) {
    if (typeof shape.fetch === 'function') return fetchObject(shape, label);
    throw notAnApp(label, value, 'it answers every member name with a function, and has no fetch()');
  }
  if (isNestApplication(value)) return nestApplicationApp(value, label);
  if (isFastify(shape)) {
    const server = shape.server as HttpServer;
    return withUpgrades(server, {
      ...nodeApp(value, 'a Fastify instance (served through its node request listener)', (req, res) => server.emit('request', req, res)),
      ready: async () => void (await (shape.ready as () => Promise<unknown>)()),
      close: async () => void (await (shape.close as () => Promise<unknown>)()),
    });
  }
  if (value instanceof HttpServer) {
    const listens = () => notAnApp(label, value, 'it is an http.Server that already listens; export it without calling listen()');
    if (value.listening) throw listens();
    const app = nodeApp(value, 'an http.Server (its request and upgrade listeners)', (req, res) => value.emit('request', req, res));
    // A listen() its module called completes after the import, once its host is looked up (adapter-node's
    // build/index.js): give it a moment to show.
    app.ready = async () => {
      if (!value.listening) await listeningWithin(value, LISTEN_GRACE_MS);
      if (value.listening) throw listens();
    };
    return withUpgrades(value, app);
  }
  if (isKoa(shape)) {
    return nodeApp(value, 'a Koa app (node request listener from callback())', (shape.callback as () => NodeListener).call(value));
  }
  if (typeof shape.fetch === 'function') return fetchObject(shape, label);
  if (typeof value === 'function') {
    if (isClass(value)) {
      throw new ChaussetteError(
        `${label} is the class ${value.name || '(anonymous)'}, not an app: export an instance (new ${value.name || 'App'}()), or a function that makes one and pass --factory`,
      );
    }
    if (typeof shape.handle === 'function' && typeof shape.use === 'function') {
      const framework = typeof shape.set === 'function' && typeof shape.engine === 'function' ? 'an Express app' : 'a Connect app';
      return nodeApp(value, `${framework} (node request listener)`, value as NodeListener);
    }
    if (value.length >= 2) return nodeApp(value, `${describeFunction(shape)} (node request listener)`, value as NodeListener);
    if (value.length === 1) return fetchApp(value, `${describeFunction(shape)} (fetch handler)`, value as FetchHandler);
    throw new ChaussetteError(
      `Cannot tell what kind of app ${label} is: ${describeFunction(shape)} declares no parameters. Say it with --interface node for (req, res) or --interface fetch for (request) => Response; if it returns the app, pass --factory`,
    );
  }
  throw notAnApp(label, value);
}

/**
 * A promise of the app, for the loader to await: a thenable with no app's shape, that does not answer
 * every member name (itty-router's Router answers `then`, as it answers any name, with a route registrar).
 */
export function isPromiseOfApp(value: unknown): value is PromiseLike<unknown> {
  if (typeof (value as { then?: unknown } | null)?.then !== 'function') return false;
  if (value instanceof Promise) return true;
  return !isAppShaped(value) && !answersEveryName(value as Shape);
}

/** toApp() takes it for an app by its shape. */
function isAppShaped(value: unknown): boolean {
  if (typeof value === 'function') return true;
  if (value === null || typeof value !== 'object') return false;
  const shape = value as Shape;
  return typeof shape.fetch === 'function' || value instanceof HttpServer || isNestApplication(value) || isFastify(shape) || isKoa(shape);
}

// No app has a member by this name: an object that answers it with a function answers every name.
const IMPROBABLE_MEMBER = 'chaussette: a member no app has';

/** A Proxy that makes up a function for any member (itty-router's Router): only its fetch() tells what it is. */
function answersEveryName(shape: Shape): boolean {
  return typeof shape[IMPROBABLE_MEMBER] === 'function';
}

/**
 * A function that toApp() can only tell by its parameters (no framework's shape, no class): what a
 * backend that serves a framework natively may recognise as the framework's (a Fastify plugin).
 */
export function isBareFunction(value: unknown): boolean {
  if (typeof value !== 'function' || isClass(value)) return false;
  const shape = value as Shape;
  return typeof shape.fetch !== 'function' && typeof shape.handle !== 'function' && typeof shape.callback !== 'function';
}

const LISTEN_GRACE_MS = 100;

function listeningWithin(server: HttpServer, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      server.off('listening', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    server.once('listening', done);
  });
}

function isClass(fn: Function): boolean {
  return /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

function nodeApp(source: unknown, description: string, listener: NodeListener): NodeApp {
  return { kind: 'node', listener, description, source };
}

function fetchApp(source: unknown, description: string, fetch: FetchHandler): App {
  return { kind: 'fetch', fetch, description, source };
}

/** An object with fetch(), and with Bun.serve()'s `websocket` handlers when it has them. */
function fetchObject(shape: Shape, label: string): App {
  const fetch = (shape.fetch as FetchHandler).bind(shape);
  const websocket = answersEveryName(shape) ? undefined : shape.websocket;
  if (websocket === undefined) return fetchApp(shape, `${describeObject(shape)} (fetch handler)`, fetch);
  if (!isWebSocketHandler(websocket)) {
    throw new ChaussetteError(`${label}: its websocket member is ${describeValue(websocket)}; give it handlers, as Bun.serve() takes them: { open(ws), message(ws, message), close(ws, code, reason) }`);
  }
  websocketSettings(websocket, label);
  return { kind: 'fetch', fetch, websocket, description: `${describeObject(shape)} (fetch handler, with WebSocket handlers)`, source: shape };
}

/**
 * The server's 'upgrade' listeners (a `ws` WebSocketServer, socket.io, @fastify/websocket) as the app's,
 * read when the backend starts: Fastify adds its plugins' listeners in ready().
 */
function withUpgrades(server: HttpServer, app: NodeApp): NodeApp {
  const upgrade: UpgradeListener = (req, socket, head) => server.emit('upgrade', req, socket, head);
  return Object.defineProperty(app, 'upgrade', { get: () => (server.listenerCount('upgrade') > 0 ? upgrade : undefined), enumerable: true });
}

/** What NestFactory.create() makes (a NestApplication, on whichever platform), as far as serving it goes. */
export interface NestApplication {
  getHttpAdapter(): { getType(): string; getInstance(): unknown };
  getHttpServer(): HttpServer;
  init(): Promise<unknown>;
  close(): Promise<void>;
}

export function isNestApplication(value: unknown): value is NestApplication {
  const shape = value as Partial<Record<keyof NestApplication, unknown>> | null;
  return (
    typeof value === 'object' &&
    value !== null &&
    !answersEveryName(value as Shape) &&
    typeof shape?.getHttpAdapter === 'function' &&
    typeof shape.getHttpServer === 'function' &&
    typeof shape.init === 'function' &&
    typeof shape.close === 'function'
  );
}

/**
 * A NestJS application, served through its server's request and upgrade listeners once init() has
 * registered its routes (without it, every route is a 404). `description` says where it came from.
 */
export function nestApplicationApp(instance: NestApplication, label: string, description = 'a NestJS application'): NodeApp {
  const server = instance.getHttpServer();
  if (server.listening) {
    throw new ChaussetteError(`${label} is a NestJS application that already listens: export it without calling listen(), chaussette calls init() and serves it`);
  }
  const platform = instance.getHttpAdapter().getType();
  // The source is its server, not the instance: the fastify backend would take a NestFastifyApplication
  // (it has register(), inject() and listen()) for a Fastify instance of its own to serve natively.
  return withUpgrades(server, {
    ...nodeApp(server, `${description} (${platform} platform)`, (req, res) => server.emit('request', req, res)),
    ready: async () => {
      await instance.init();
      // Fastify adds the routes Nest gave it once it is ready, which Nest leaves to fastify.listen().
      if (platform === 'fastify') await (instance.getHttpAdapter().getInstance() as { ready(): Promise<unknown> }).ready();
    },
    close: () => instance.close(),
  });
}

function isKoa(shape: Shape): boolean {
  return typeof shape.callback === 'function' && typeof shape.use === 'function' && Array.isArray(shape.middleware);
}

function isFastify(shape: Shape): boolean {
  return (
    typeof shape.register === 'function' &&
    typeof shape.ready === 'function' &&
    typeof shape.inject === 'function' &&
    shape.server instanceof HttpServer
  );
}

function describeFunction(fn: Shape): string {
  const kind = fn.constructor?.name === 'AsyncFunction' ? 'async function' : 'function';
  return fn.name ? `${kind} ${fn.name}` : `an anonymous ${kind}`;
}

function describeObject(object: Shape): string {
  const name = className(object);
  if (name === 'Hono') return 'a Hono app';
  return name ? `${withArticle(name)} instance` : 'an object with fetch()';
}

/** The name of the object's class, without the underscores a bundler may prefix (`_Elysia`); undefined for a plain object. */
function className(object: object): string | undefined {
  const name = (Object.getPrototypeOf(object)?.constructor?.name as string | undefined)?.replace(/^_+/, '');
  return name && name !== 'Object' ? name : undefined;
}

/** `a Date`, `an Elysia`, `an H3`: an initial said as a letter (H3, SQL…) takes the article of the letter's name. */
function withArticle(name: string): string {
  const spelledOut = /^[A-Z][A-Z0-9]/.test(name);
  return `${(spelledOut ? /^[AEFHILMNORSX]/ : /^[AEIOU]/i).test(name) ? 'an' : 'a'} ${name}`;
}

/** Says what a value is, for messages: `a string`, `an object with keys a, b`, `a Date instance`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return describeFunction(value as Shape);
  if (typeof value === 'object') {
    const name = className(value);
    if (name) return `${withArticle(name)} instance`;
    const keys = Object.keys(value);
    return keys.length ? `an object with keys ${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', …' : ''}` : 'an empty object';
  }
  return typeof value === 'undefined' ? 'undefined' : `a ${typeof value} (${JSON.stringify(value)?.slice(0, 40)})`;
}

function notAnApp(label: string, value: unknown, reason?: string): ChaussetteError {
  // What a CommonJS module that sets no module.exports (an Express file that calls app.listen()) exports.
  if (reason === undefined && describeValue(value) === 'an empty object') {
    return new ChaussetteError(`${label} is an empty object: the module exports no app. To serve it, ${EXPORT_THE_APP}`);
  }
  return new ChaussetteError(
    `${label} is ${describeValue(value)}, not an app${reason ? ` (${reason})` : ''}. Accepted: ${ACCEPTED}; with --factory, a function returning one`,
  );
}
