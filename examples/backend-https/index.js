// @ts-check
// An HTTPS backend for chaussette, written as a third party would write one: a package named
// chaussette-backend-https (so `--backend https` finds it), a peer dependency on @chaussette/core, and
// the node backend's bridge for everything a node:http-style server shares. See docs/writing-a-backend.md.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { ChaussetteError, errorMessage, formatAddress, resolveLimits } from '@chaussette/core';
import {
  applyServerLimits,
  boundAddress,
  gracefulClose,
  limitedListener,
  listenOptions,
  nodeListenerFor,
  observeRequests,
  reportAcceptErrors,
  trackConnections,
} from '@chaussette/backend-node/bridge';

const OPTIONS = ['cert', 'key'];

/** @type {import('@chaussette/core').Backend} */
const httpsBackend = {
  name: 'https',
  engine: `node:https, OpenSSL ${process.versions.openssl}`,
  appKinds: ['node', 'fetch'],
  async serve(app, target, options) {
    const { cert, key } = readCertificate(options.backendOptions ?? {});
    const limits = resolveLimits(options.limits);
    let origin = 'localhost';
    const listener = limitedListener(nodeListenerFor(app, options.logger, () => origin), limits);
    const server = createServer({ cert, key }, listener);
    // node:https's Server is node:http's, on TLS sockets: the bridge's helpers apply as they are.
    const httpServer = /** @type {import('node:http').Server} */ (/** @type {unknown} */ (server));
    applyServerLimits(httpServer, limits);
    observeRequests(httpServer, options);
    const connections = trackConnections(httpServer, 'secureConnection');
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenOptions(target), () => {
        server.off('error', reject);
        resolve(undefined);
      });
    });
    reportAcceptErrors(httpServer, options.logger);
    const address = boundAddress(httpServer, target);
    if (address.type === 'tcp') origin = formatAddress(address);
    const stop = () => new Promise((resolve) => server.close(() => resolve(undefined)));
    return { address, close: gracefulClose(httpServer, /** @type {() => Promise<void>} */ (stop), connections) };
  },
};
export default httpsBackend;

/**
 * The certificate and key, from the config file's backendOptions: `{ "cert": "path.pem", "key": "path.pem" }`.
 * @param {Readonly<Record<string, unknown>>} backendOptions
 */
function readCertificate(backendOptions) {
  const unknown = Object.keys(backendOptions).filter((name) => !OPTIONS.includes(name));
  if (unknown.length > 0) throw new ChaussetteError(`The https backend takes backendOptions cert and key, not ${unknown.join(', ')}`);
  /** @type {Record<string, Buffer>} */
  const files = {};
  for (const name of OPTIONS) {
    const path = backendOptions[name];
    if (typeof path !== 'string') {
      throw new ChaussetteError(
        `The https backend needs backendOptions.${name}: the path of the PEM ${name === 'cert' ? 'certificate' : 'private key'}, in the --config file`,
      );
    }
    try {
      files[name] = readFileSync(path);
    } catch (error) {
      throw new ChaussetteError(`Cannot read backendOptions.${name} ${path}: ${errorMessage(error)}`, { cause: error });
    }
  }
  return { cert: files.cert, key: files.key };
}
