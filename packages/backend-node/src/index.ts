import { createServer } from 'node:http';
import { type Backend, refuseBackendOptions } from '@chaussette/core';
import { serveOnNodeServer } from '@chaussette/node-http';

/** node:http, chaussette's default backend: node listeners as they are, fetch handlers through a lazy bridge. */
const nodeBackend: Backend = {
  name: 'node',
  appKinds: ['node', 'fetch'],
  supports: { reusePort: true, peerCredentials: true, websocket: true },
  async serve(app, target, options) {
    refuseBackendOptions(options.backendOptions, 'node');
    return serveOnNodeServer(app, target, options, { createServer: (listener) => createServer(listener) });
  },
};
export default nodeBackend;
