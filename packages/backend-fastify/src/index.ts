import { Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import type { App, Backend, ListenTarget, Logger, NodeListener } from '@chaussette/core';
import { ChaussetteError, looksLikeFastifyPlugin, toApp } from '@chaussette/core';
import { answerClientError, http2SecureOptions, listenOptions, type NodeServerKind, serveOnNodeServer } from '@chaussette/node-http';
import * as fastifyModule from 'fastify';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyPluginCallback, type FastifyServerOptions } from 'fastify';

// Fastify 5.8+ moved request-log switches to a LogController (the top-level option is deprecated).
const { LogController } = fastifyModule as unknown as { LogController?: new (options: { disableRequestLogging: boolean }) => object };

type FastifyPlugin = FastifyPluginAsync | FastifyPluginCallback;

// A NestJS application on Fastify has register(), inject() and listen() too, but no `server`.
function isFastifyInstance(value: unknown): value is FastifyInstance {
  const shape = value as Partial<FastifyInstance> | null;
  // Its server: node:http's, or node:https's or node:http2's when it was made with Fastify's https or http2 options.
  return typeof shape?.register === 'function' && typeof shape.inject === 'function' && typeof shape.listen === 'function' && shape.server instanceof NetServer;
}

/** A Fastify plugin, as `fastify start` loads one (see core's looksLikeFastifyPlugin). */
export function isFastifyPlugin(value: unknown): value is FastifyPlugin {
  return looksLikeFastifyPlugin(value);
}

/**
 * Fastify: plugins and instances natively, with their hooks and close(); node and fetch apps on a
 * catch-all route. TLS and HTTP/2 through Fastify's own `https` and `http2` options.
 */
const fastifyBackend: Backend = {
  name: 'fastify',
  appKinds: ['node', 'fetch'],
  supports: { reusePort: true, peerCredentials: true, websocket: true, tls: true, http2: true, nodeCluster: true },
  recognize(value, native) {
    if (isFastifyInstance(value)) {
      // Elsewhere core serves an instance through its request listener.
      return native ? nativeApp(value, 'a Fastify instance (served natively)') : undefined;
    }
    if (!isFastifyPlugin(value)) return undefined;
    const plugin = `a Fastify plugin${value.name ? ` ${value.name}` : ''}`;
    if (native) return nativeApp(value, `${plugin} (served natively)`);
    // Another backend serves node listeners: a Fastify instance around the plugin makes one.
    const instance = Fastify();
    void instance.register(value);
    // Not spread: the app's `upgrade` is a getter, read once the plugins have registered theirs.
    return Object.assign(toApp(instance, plugin), {
      description: `${plugin} (through a Fastify instance's request listener; --backend fastify serves it natively)`,
      source: value,
    });
  },
  refuseOptions({ backendOptions }) {
    refuseReservedOptions(backendOptions ?? {});
  },
  async serve(app, target, options) {
    let instance: FastifyInstance;
    return serveOnNodeServer(app, target, options, {
      createServer(listener, kind) {
        instance = fastifyFor(app, listener, options.logger, options.backendOptions ?? {}, options.limits?.requestBodyBytes, kind);
        if (instance.server.listening) {
          throw new ChaussetteError(
            'A Fastify instance listens on one socket only, and it already does: give one --bind or --fd, or export a plugin (served once per socket)',
          );
        }
        return instance.server;
      },
      listen: async (_server, target) => void (await instance.listen(fastifyListenOptions(target))),
      // fastify.close() (its preClose and onClose hooks) once the last request is answered: from its
      // start, an exported instance answers 503 to requests on kept connections (return503OnClosing).
      afterHttp: () => instance.close(),
    });
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

function refuseReservedOptions(factoryOptions: Readonly<Record<string, unknown>>): void {
  for (const key of Object.keys(factoryOptions)) {
    if (key in RESERVED_OPTIONS) throw new ChaussetteError(`backendOptions.${key} cannot be set: ${RESERVED_OPTIONS[key]}`);
  }
}

// Chaussette's to set: the logger (--log-level, --log-output) and how the server is made and closed.
const RESERVED_OPTIONS: Record<string, string> = {
  logger: 'chaussette gives Fastify its logger: use --log-level and --log-output',
  loggerInstance: 'chaussette gives Fastify its logger: use --log-level and --log-output',
  serverFactory: 'chaussette makes and listens on the server',
  http2: 'chaussette makes the server: with --certfile it offers HTTP/2 by ALPN (--no-http2 turns it off), and --h2c serves HTTP/2 without TLS',
  https: 'chaussette makes the server: give --certfile and --keyfile (--ca-certs and --cert-reqs for client certificates)',
  return503OnClosing: 'chaussette answers requests while closing, so that none is lost',
  forceCloseConnections: 'chaussette closes connections at shutdown itself',
};

/**
 * The Fastify instance to serve: the exported one, or one made for a plugin, or one whose catch-all
 * route hands every request to `listener` (a node or fetch app's, see nodeListenerFor).
 */
function fastifyFor(
  app: App,
  listener: NodeListener,
  logger: Logger,
  factoryOptions: Readonly<Record<string, unknown>>,
  bodyLimit: number | undefined,
  kind: NodeServerKind,
): FastifyInstance {
  const given = Object.keys(factoryOptions);
  if (isFastifyInstance(app.source)) {
    if (!(app.source.server instanceof Server)) {
      throw new ChaussetteError(
        "This Fastify instance was made with Fastify's own https or http2 options: chaussette serves TLS and HTTP/2 itself. Remove them from Fastify() and give --certfile and --keyfile (HTTP/2 comes with them; --h2c without TLS), or export a plugin",
      );
    }
    if (kind.tls) {
      // Its server is made, of node:http's kind: HTTP/1.1 on TLS sockets handed to it would be all it could
      // speak, its hooks and options fixed for plain HTTP. A plugin gets an instance made for TLS and HTTP/2.
      throw new ChaussetteError(
        'An exported Fastify instance made its own HTTP server, which cannot serve TLS (--certfile): export a plugin instead, and chaussette makes the instance with Fastify\'s https and http2 options',
      );
    }
    if (given.length > 0) {
      throw new ChaussetteError(
        `backendOptions (${given.join(', ')}) apply to the Fastify instance chaussette makes for a plugin; an exported instance keeps the options it was made with. Pass them to Fastify() in the app, or export a plugin`,
      );
    }
    return app.source;
  }
  refuseReservedOptions(factoryOptions);
  // The user's options for the Fastify factory (trustProxy, bodyLimit, ignoreTrailingSlash…), then chaussette's:
  // a request that reaches a closing worker is answered (with Connection: close), not refused with a
  // 503; and idle connections are closed by chaussette's sweep, which spares fresh ones for a moment.
  const options: FastifyServerOptions = { ...(factoryOptions as FastifyServerOptions), return503OnClosing: false, forceCloseConnections: false };
  // Fastify's own TLS options: node:https's server, or node:http2's secure one with allowHTTP1.
  if (kind.tls) Object.assign(options, { https: kind.http2 ? http2SecureOptions(kind.tls) : kind.tls, http2: kind.http2 });
  // Fastify's own answer to bytes node:http cannot parse (400, 431…) is JSON; the other backends' is refusal()'s text.
  options.clientErrorHandler ??= answerClientError;
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
  if (!isFastifyPlugin(app.source)) {
    // Fastify's router answers a path it cannot decode (`/%zz`) with a JSON 400 of its own; the node
    // backend hands it to the app, as sent, and so does this one.
    options.frameworkErrors ??= (error, request, reply) => {
      if (error.code !== 'FST_ERR_BAD_URL') return void reply.send(error as never); // Fastify's own answer, as without this handler
      reply.hijack();
      listener(request.raw, reply.raw);
    };
  }
  const instance = Fastify(options) as unknown as FastifyInstance;
  if (isFastifyPlugin(app.source)) {
    void instance.register(app.source);
    return instance;
  }
  // A node or fetch app: every method and path to it, with the request body left unread for the app.
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
