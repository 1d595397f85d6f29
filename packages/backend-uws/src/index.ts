import type { Backend, TlsSettings } from '@chaussette/core';
import type { TemplatedApp } from 'uWebSockets.js';
import { ChaussetteError, formatAddress, guardedListener, installFastResponse, refuseBackendOptions, resolveLimits, waitAtMost } from '@chaussette/core';
import { ServerState } from './exchange.js';
import { refuseFixedLimits } from './fixed-limits.js';
import { fetchHandler } from './fetch-handler.js';
import { listen, takeOver } from './listen.js';
import { sslApp } from './tls.js';
import { nodeHandler } from './node-compat.js';
import { loadUws } from './uws.js';
import { type UwsWebSockets, uwsWebSocketsFor } from './websocket.js';

const QUIET_MS = 200;

let warned = false;

/**
 * uWebSockets.js: fetch handlers natively, node listeners through a compatibility layer (see node-compat.ts).
 * The engine loads on the first serve() (or read of `engine`), so that importing this package works on a
 * Node.js its build has no binary for, and says so in one line only when asked to serve.
 */
const uwsBackend: Backend = {
  name: 'uws',
  get engine() {
    return loadUws().version;
  },
  appKinds: ['node', 'fetch'],
  // No peerCredentials: uWebSockets.js gives no access to a connection's socket.
  supports: { reusePort: true, websocket: true, tls: true },
  refuseOptions({ backendOptions, limits }) {
    uwsBackendOptions(backendOptions);
    refuseFixedLimits(limits, loadUws);
  },
  async serve(app, target, { logger, accessLog, trustedProxies, backendOptions, limits, tls }) {
    const { chunkedBehindProxy } = uwsBackendOptions(backendOptions);
    if (app.kind === 'node' && app.upgrade) {
      throw new ChaussetteError(
        "The uws backend cannot hand a node app's upgrade requests to its own 'upgrade' listeners (ws, socket.io): use --backend node, or give a fetch app WebSocket handlers",
      );
    }
    const engine = loadUws();
    const { uws } = engine;
    refuseFixedLimits(limits, () => engine);
    if (engine.warning && !warned) {
      warned = true;
      logger.warn(engine.warning);
    }
    let origin = 'localhost';
    const state = new ServerState(accessLog, trustedProxies, resolveLimits(limits), engine.current, chunkedBehindProxy);
    let websockets: UwsWebSockets | undefined;
    let route: (server: TemplatedApp) => void;
    if (app.kind === 'fetch') {
      installFastResponse();
      const { fetch } = app;
      if (app.websocket) websockets = uwsWebSocketsFor(app.websocket, logger);
      const handler = fetchHandler(fetch, logger, () => origin, state, websockets?.fetchServer);
      route = (server) => {
        websockets?.attach(server, uws, fetch, () => origin, state);
        server.any('/*', handler);
      };
    } else {
      const handler = nodeHandler(guardedListener(app.listener, logger), state);
      route = (server) => server.any('/*', handler);
    }
    const newApp = (settings: TlsSettings | undefined) => {
      if (!settings) {
        const server = uws.App();
        route(server);
        return server;
      }
      return sslApp(uws, settings, route);
    };
    if (tls) {
      state.encrypted = true;
      state.clientCertificates = tls.clientCertificates;
    }
    let server = newApp(tls);
    // Apps that new certificates replaced (updateTls): they serve the connections they accepted to the end.
    const retired: TemplatedApp[] = [];
    let listener = await listen(uws, server, target, tls !== undefined && process.platform === 'linux');
    if (listener.address.type === 'tcp') origin = formatAddress(listener.address);
    let closed: Promise<void> | undefined;
    return {
      address: listener.address,
      updateTls: (settings) => {
        if (closed) return;
        // uWS cannot change an app's certificates: a new app takes the listening socket over.
        const replacement = newApp(settings);
        try {
          listener = takeOver(uws, replacement, listener);
        } catch (error) {
          replacement.close();
          throw error;
        }
        state.clientCertificates = settings.clientCertificates;
        retired.push(server);
        server = replacement;
      },
      close: (timeoutMs) =>
        (closed ??= (async () => {
          // Stop accepting; responses from now on say `Connection: close`.
          state.closing = true;
          uws.us_listen_socket_close(listener.socket);
          const deadline = Date.now() + Math.min(timeoutMs, Number.MAX_SAFE_INTEGER);
          const left = () => Math.max(0, deadline - Date.now());
          const websocketsClosed = websockets?.closeAll();
          // uWS shows no connection without a request: one accepted just before shutdown may still have
          // its first request on the way. Close only once no request has come for a short while.
          while (left() > 0) {
            await waitAtMost(state.idle(), left());
            await new Promise((resolve) => setTimeout(resolve, Math.min(QUIET_MS, left())));
            if (state.count === 0) break;
          }
          if (websocketsClosed) await waitAtMost(websocketsClosed, left());
          // Closes the idle keep-alive connections, and cuts whatever outlived the timeout.
          for (const each of [...retired, server]) (each as typeof each & { close(): void }).close(); // in uWS since 20.30; missing from its types
        })()),
    };
  },
};
export default uwsBackend;

/**
 * The one backendOption uws takes: `chunkedBehindProxy: true` (the CLI's --uws-chunked-behind-proxy)
 * accepts chunked request bodies, for a server behind a proxy that re-frames them (SECURITY.md).
 */
function uwsBackendOptions(given: Readonly<Record<string, unknown>> | undefined): { chunkedBehindProxy: boolean } {
  refuseBackendOptions(given, 'uws', ['chunkedBehindProxy']);
  const { chunkedBehindProxy = false } = given ?? {};
  if (typeof chunkedBehindProxy !== 'boolean') throw new ChaussetteError(`backendOptions.chunkedBehindProxy must be true or false, not ${JSON.stringify(chunkedBehindProxy)}`);
  return { chunkedBehindProxy };
}
