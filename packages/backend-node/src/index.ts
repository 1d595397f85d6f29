import { createServer, type Server } from 'node:http';
import type { Backend, ListenTarget } from '@chaussette/core';
import { formatAddress, refuseBackendOptions, resolveLimits } from '@chaussette/core';
import { boundAddress, gracefulClose, listenOptions, nodeListenerFor, observeRequests, trackConnections } from './bridge.js';
import { applyServerLimits, limitedListener, reportAcceptErrors } from './limits.js';

/** node:http, chaussette's default backend: node listeners as they are, fetch handlers through a lazy bridge. */
const nodeBackend: Backend = {
  name: 'node',
  appKinds: ['node', 'fetch'],
  async serve(app, target, options) {
    const { logger } = options;
    refuseBackendOptions(options.backendOptions, 'node');
    let origin = 'localhost';
    const limits = resolveLimits(options.limits);
    const server = createServer(limitedListener(nodeListenerFor(app, logger, () => origin), limits));
    applyServerLimits(server, limits);
    observeRequests(server, options);
    const connections = trackConnections(server);
    await listen(server, target);
    reportAcceptErrors(server, logger);
    const address = boundAddress(server, target);
    if (address.type === 'tcp') origin = formatAddress(address);
    return {
      address,
      close: gracefulClose(server, () => new Promise<void>((resolve) => server.close(() => resolve())), connections),
    };
  },
};
export default nodeBackend;

function listen(server: Server, target: ListenTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenOptions(target), () => {
      server.off('error', reject);
      resolve();
    });
  });
}
