// @ts-check
// An HTTPS backend for chaussette, written as a third party would write one: a package named
// chaussette-backend-https (so `--backend https` finds it), a peer dependency on @chaussette/core, and
// @chaussette/node-http, which serves on any server of node:http's kind. See docs/writing-a-backend.md.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { ChaussetteError, errorMessage } from '@chaussette/core';
import { serveOnNodeServer } from '@chaussette/node-http';

const OPTIONS = ['cert', 'key'];

/** @type {import('@chaussette/core').Backend} */
const httpsBackend = {
  name: 'https',
  engine: `node:https, OpenSSL ${process.versions.openssl}`,
  appKinds: ['node', 'fetch'],
  // node-http's WebSockets work on TLS sockets as they are (wss://).
  supports: { websocket: true },
  async serve(app, target, options) {
    const { cert, key } = readCertificate(options.backendOptions ?? {});
    return serveOnNodeServer(app, target, options, {
      createServer: (listener) => /** @type {import('node:http').Server} */ (/** @type {unknown} */ (createServer({ cert, key }, listener))),
      // node:https's Server is node:http's on TLS sockets, whose requests arrive on 'secureConnection'.
      connectionEvent: 'secureConnection',
    });
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
