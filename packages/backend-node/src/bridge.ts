import { type App, installFastResponse, type Logger, type NodeListener } from '@chaussette/core';
import { guardedListener } from './errors.js';
import { fetchListener } from './fetch-listener.js';

/**
 * An app as a node:http request listener: a node app guarded against throws and rejections, a fetch
 * app through the lazy Request bridge. Any backend built on a node:http server can use it
 * (`@chaussette/backend-node/bridge`). `origin` gives the host for request URLs without a Host header.
 */
export function nodeListenerFor(app: App, logger: Logger, origin: () => string): NodeListener {
  if (app.kind === 'node') return guardedListener(app.listener, logger);
  installFastResponse();
  return fetchListener(app.fetch, logger, origin);
}
