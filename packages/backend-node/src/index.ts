import { createServer, type Server } from 'node:http';
import type { Backend, ListenTarget, ServerHandle } from '@chaussette/core';
import { formatAddress } from '@chaussette/core';
import { boundAddress, inFlightCloser, nodeListenerFor } from './bridge.js';

/** node:http, chaussette's default backend: node listeners as they are, fetch handlers through a lazy bridge. */
const nodeBackend: Backend = {
  name: 'node',
  appKinds: ['node', 'fetch'],
  async serve(app, target, { logger }) {
    let origin = 'localhost';
    const listener = nodeListenerFor(app, logger, () => origin);
    let closing = false;
    const server = createServer((req, res) => {
      if (closing) res.shouldKeepAlive = false; // answer with `Connection: close`
      listener(req, res);
    });
    const closeInFlight = inFlightCloser(server);
    await listen(server, target);
    const address = boundAddress(server, target);
    if (address.type === 'tcp') origin = formatAddress(address);
    return {
      address,
      close: gracefulClose(server, () => {
        closing = true;
        closeInFlight();
      }),
    };
  },
};
export default nodeBackend;

function listen(server: Server, target: ListenTarget): Promise<void> {
  const options =
    target.type === 'tcp'
      ? { host: target.host, port: target.port, backlog: target.backlog }
      : target.type === 'unix'
        ? { path: target.path, backlog: target.backlog }
        : { fd: target.fd, backlog: target.backlog };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

const MAX_TIMEOUT_MS = 2 ** 31 - 1; // setTimeout fires at once past this

function gracefulClose(server: Server, markClosing: () => void): ServerHandle['close'] {
  let closed: Promise<void> | undefined;
  return (timeoutMs) =>
    (closed ??= new Promise<void>((resolve) => {
      markClosing();
      server.close(() => resolve()); // stops accepting; calls back once every connection has ended
      // Connections whose in-flight response finishes become idle: close them as they do.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const force = setTimeout(() => server.closeAllConnections(), Math.min(timeoutMs, MAX_TIMEOUT_MS));
      server.once('close', () => {
        clearInterval(sweep);
        clearTimeout(force);
      });
    }));
}
