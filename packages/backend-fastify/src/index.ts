import type { Server } from 'node:http';
import type { App, Backend, FetchServer, Limits, ListenTarget, Logger, NodeListener } from '@chaussette/core';
import { ChaussetteError, formatAddress, resolveLimits } from '@chaussette/core';
import {
  applyServerLimits,
  boundAddress,
  gracefulClose,
  handleUpgrades,
  limitedListener,
  listenOptions,
  nameInheritedUnixSocket,
  nodeListenerFor,
  observeRequests,
  reportAcceptErrors,
  trackConnections,
  websocketHubFor,
} from '@chaussette/backend-node/bridge';
import * as fastifyModule from 'fastify';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyPluginCallback, type FastifyServerOptions } from 'fastify';

// Fastify 5.8+ moved request-log switches to a LogController (the top-level option is deprecated).
const { LogController } = fastifyModule as unknown as { LogController?: new (options: { disableRequestLogging: boolean }) => object };

type FastifyPlugin = FastifyPluginAsync | FastifyPluginCallback;

// fastify-plugin marks the functions it wraps with these.
const PLUGIN_MARKS = [Symbol.for('skip-override'), Symbol.for('fastify.display-name'), Symbol.for('plugin-meta')];
const PLUGIN_PARAMETER = /^(?:async\s+)?(?:function\s*[\w$]*\s*)?\(?\s*(fastify|app|instance|server|f)\b/;

function isFastifyInstance(value: unknown): value is FastifyInstance {
  const shape = value as Partial<FastifyInstance> | null;
  return typeof shape?.register === 'function' && typeof shape.inject === 'function' && typeof shape.listen === 'function';
}

/**
 * A Fastify plugin, as `fastify start` loads one: marked by fastify-plugin, or a function whose first
 * parameter is named like a Fastify instance (`fastify`, `app`, `instance`, `server`, `f`).
 */
export function isFastifyPlugin(value: unknown): value is FastifyPlugin {
  if (typeof value !== 'function') return false;
  if (PLUGIN_MARKS.some((mark) => mark in value)) return true;
  return PLUGIN_PARAMETER.test(Function.prototype.toString.call(value));
}

/** Fastify: plugins and instances natively, with their hooks and close(); node and fetch apps on a catch-all route. */
const fastifyBackend: Backend = {
  name: 'fastify',
  appKinds: ['node', 'fetch'],
  supports: { reusePort: true, peerCredentials: true, websocket: true },
  recognize(value) {
    if (isFastifyInstance(value)) {
      return nativeApp(value, 'a Fastify instance (served natively)');
    }
    if (isFastifyPlugin(value)) {
      return nativeApp(value, `a Fastify plugin${value.name ? ` ${value.name}` : ''} (served natively)`);
    }
    return undefined;
  },
  async serve(app, target, options) {
    const { logger } = options;
    let origin = 'localhost';
    const limits = resolveLimits(options.limits);
    const websockets = app.kind === 'fetch' && app.websocket ? websocketHubFor(app.websocket, logger) : undefined;
    const instance = fastifyFor(app, logger, () => origin, options.backendOptions ?? {}, options.limits?.requestBodyBytes, websockets?.fetchServer);
    if (instance.server.listening) {
      throw new ChaussetteError(
        'A Fastify instance listens on one socket only, and it already does: give one --bind or --fd, or export a plugin (served once per socket)',
      );
    }
    limitServer(instance.server, limits);
    const connections = trackConnections(instance.server);
    observeRequests(instance.server, options);
    // A Fastify app's own upgrades (@fastify/websocket) are Fastify's: these are a fetch or node app's.
    handleUpgrades(instance.server, app, { websockets, connections, logger, origin: () => origin, limits, accessLog: options.accessLog, trustedProxies: options.trustedProxies });
    nameInheritedUnixSocket(instance.server, target);
    await instance.listen(fastifyListenOptions(target));
    reportAcceptErrors(instance.server, logger);
    const address = boundAddress(instance.server);
    if (address.type === 'tcp') origin = formatAddress(address);
    // fastify.close() (its preClose and onClose hooks) once the last request is answered: from its
    // start, an exported instance answers 503 to requests on kept connections (return503OnClosing).
    return { address, close: gracefulClose(instance.server, connections, { websockets, afterHttp: () => instance.close() }) };
  },
};
export default fastifyBackend;

function nativeApp(source: FastifyInstance | FastifyPlugin, description: string): App {
  return {
    kind: 'node',
    // Only reached if this app ends up on another backend; the Fastify backend serves `source` itself.
    listener: () => {
      throw new Error(`${description} can only be served by the fastify backend`);
    },
    description,
    source,
  };
}

// Chaussette's to set: the logger (--log-level, --log-output) and how the server is made and closed.
const RESERVED_OPTIONS: Record<string, string> = {
  logger: 'chaussette gives Fastify its logger: use --log-level and --log-output',
  loggerInstance: 'chaussette gives Fastify its logger: use --log-level and --log-output',
  serverFactory: 'chaussette makes and listens on the server',
  http2: 'chaussette serves HTTP/1.1 on the sockets it is given',
  https: 'chaussette serves HTTP/1.1 on the sockets it is given: terminate TLS in the reverse proxy',
  return503OnClosing: 'chaussette answers requests while closing, so that none is lost',
  forceCloseConnections: 'chaussette closes connections at shutdown itself',
};

/** Chaussette's limits (see Limits) in front of Fastify's own request handler, whatever the app. */
function limitServer(server: Server, limits: Limits): void {
  applyServerLimits(server, limits);
  const handlers = server.listeners('request') as NodeListener[];
  server.removeAllListeners('request');
  for (const handler of handlers) server.on('request', limitedListener(handler, limits));
}

function fastifyFor(
  app: App,
  logger: Logger,
  origin: () => string,
  factoryOptions: Readonly<Record<string, unknown>>,
  bodyLimit: number | undefined,
  fetchServer: FetchServer | undefined,
): FastifyInstance {
  const given = Object.keys(factoryOptions);
  if (isFastifyInstance(app.source)) {
    if (given.length > 0) {
      throw new ChaussetteError(
        `backendOptions (${given.join(', ')}) apply to the Fastify instance chaussette makes for a plugin; an exported instance keeps the options it was made with. Pass them to Fastify() in the app, or export a plugin`,
      );
    }
    return app.source;
  }
  for (const key of given) {
    if (key in RESERVED_OPTIONS) throw new ChaussetteError(`backendOptions.${key} cannot be set: ${RESERVED_OPTIONS[key]}`);
  }
  // The user's options for the Fastify factory (trustProxy, bodyLimit, ignoreTrailingSlash…), then chaussette's:
  // a request that reaches a closing worker is answered (with Connection: close), not refused with a
  // 503; and idle connections are closed by chaussette's sweep, which spares fresh ones for a moment.
  const options: FastifyServerOptions = { ...(factoryOptions as FastifyServerOptions), return503OnClosing: false, forceCloseConnections: false };
  // --limit-request-body, when given, is Fastify's bodyLimit too (for the bodies Fastify parses).
  if (bodyLimit !== undefined && factoryOptions.bodyLimit === undefined) options.bodyLimit = bodyLimit || Number.MAX_SAFE_INTEGER;
  if (isPino(logger)) {
    // Our logger (pino, from the CLI) follows --log-level and --log-output. request.log is that logger
    // itself: a child logger per request (for its reqId), or Fastify's check of a custom child factory's
    // result, costs a hello-world plugin a quarter of its speed.
    options.loggerInstance = withoutChildren(logger);
  }
  // The access log is not Fastify's job here: no "incoming request" / "request completed" lines.
  if (LogController) options.logController = new LogController({ disableRequestLogging: true }) as FastifyServerOptions['logController'];
  else options.disableRequestLogging = true;
  const instance = Fastify(options) as unknown as FastifyInstance;
  if (isFastifyPlugin(app.source)) {
    void instance.register(app.source);
    return instance;
  }
  // A node or fetch app: every method and path to it, with the request body left unread for the app.
  const listener = nodeListenerFor(app, logger, origin, fetchServer);
  instance.removeAllContentTypeParsers();
  instance.addContentTypeParser('*', (_request, _payload, done) => done(null));
  instance.all('*', (request, reply) => {
    reply.hijack();
    listener(request.raw, reply.raw);
  });
  return instance;
}

/** The logger, whose child() is itself: Fastify's default child factory then creates nothing per request. */
function withoutChildren<T extends object>(logger: T): T {
  const shared = Object.create(logger) as T & { child(): T };
  shared.child = () => shared;
  return shared;
}

function isPino(logger: Logger): logger is Logger & FastifyInstance['log'] {
  const candidate = logger as Partial<FastifyInstance['log']>;
  return typeof candidate.child === 'function' && typeof candidate.fatal === 'function' && typeof candidate.trace === 'function';
}

function fastifyListenOptions(target: ListenTarget) {
  // node:net listens on `fd` and ignores `host`; a host keeps Fastify from binding localhost a second time.
  return target.type === 'fd' ? { ...listenOptions(target), host: '127.0.0.1' } : listenOptions(target);
}
