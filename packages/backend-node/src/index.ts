import { type Backend, refuseBackendOptions } from '@chaussette/core';
import { serveOnNodeServer } from '@chaussette/node-http';

/**
 * node:http, chaussette's default backend: node listeners as they are, fetch handlers through a lazy
 * bridge. With TLS, node:https's server, or node:http2's secure one with HTTP/1.1 beside (allowHTTP1);
 * with --h2c, node:http2's sessions beside node:http on the same sockets (see serveOnNodeServer).
 */
const nodeBackend: Backend = {
  name: 'node',
  appKinds: ['node', 'fetch'],
  supports: { reusePort: true, peerCredentials: true, websocket: true, tls: true, http2: true, nodeCluster: true },
  refuseOptions({ backendOptions }) {
    refuseBackendOptions(backendOptions, 'node');
  },
  async serve(app, target, options) {
    refuseBackendOptions(options.backendOptions, 'node');
    return serveOnNodeServer(app, target, options, {});
  },
};
export default nodeBackend;
