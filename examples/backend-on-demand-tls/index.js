// @ts-check
// A chaussette backend that does what the built-in TLS (--certfile) does not: certificates for many names,
// kept in a directory in certbot's layout, each loaded by the first handshake that asks for its name
// (SNI) and re-read when its files change, so that a multi-tenant service adds its customers' domains
// without a restart and without a signal (Caddy's "on-demand TLS", for files someone else renews).
// Written as a third party would write it: a package named chaussette-backend-on-demand-tls (so
// `--backend on-demand-tls` finds it), a peer dependency on @chaussette/core, and @chaussette/node-http's
// public API. See docs/writing-a-backend.md.
import { ChaussetteError, DEFAULT_CIPHERS, MIN_TLS_VERSION } from '@chaussette/core';
import { createNodeServer, serveOnNodeServer } from '@chaussette/node-http';
import { CertificateDirectory } from './certificate-directory.js';
import { readOptions } from './options.js';
import { serverNameOf } from './server-name.js';

/** What every certificate's context and the server share: TLS 1.2 and newer, forward-secret suites. */
const PROTOCOLS = { minVersion: MIN_TLS_VERSION, ciphers: DEFAULT_CIPHERS };

/** @type {import('@chaussette/core').Backend} */
const onDemandTlsBackend = {
  name: 'on-demand-tls',
  engine: `node:http2 with allowHTTP1 (h2 and http/1.1 by ALPN), OpenSSL ${process.versions.openssl}`,
  appKinds: ['node', 'fetch'],
  // node-http's WebSockets work on TLS sockets as they are (wss://). No `tls`: this backend's TLS is
  // its own, from backendOptions, and --certfile is refused with it.
  supports: { websocket: true },
  async serve(app, target, options) {
    const { directory, defaultName } = readOptions(options.backendOptions ?? {});
    const certificates = new CertificateDirectory(directory, PROTOCOLS, options.logger);
    if (defaultName && !(await certificates.certificateFor(defaultName))) {
      const files = certificates.filesOf(defaultName);
      throw new ChaussetteError(`Invalid backendOptions.defaultName "${defaultName}": no certificate loads from ${files.cert} and ${files.key}`);
    }
    return serveOnNodeServer(app, target, options, {
      createServer: (listener) => onDemandServer(listener, certificates, defaultName, options.logger),
      // The server is TLS without ServeOptions.tls: its requests arrive on its TLS sockets.
      connectionEvent: 'secureConnection',
    });
  },
};
export default onDemandTlsBackend;

/**
 * node:http2's secure server with allowHTTP1 (node-http's createNodeServer), its certificate chosen per
 * handshake by SNI. Without SNI, or for a name the directory lacks, the default name's certificate, or
 * a failed handshake when there is none.
 * @param {import('@chaussette/core').NodeListener} listener
 * @param {CertificateDirectory} certificates
 * @param {string | undefined} defaultName
 * @param {import('@chaussette/core').Logger} logger
 */
function onDemandServer(listener, certificates, defaultName, logger) {
  /** @param {string} serverName */
  const contextFor = async (serverName) => {
    const name = serverNameOf(serverName);
    const certificate = (name && (await certificates.certificateFor(name))) || (defaultName && (await certificates.certificateFor(defaultName)));
    if (!certificate) logger.debug(`TLS handshake refused: no certificate for ${JSON.stringify(serverName)}`);
    return certificate ? certificate.context : undefined;
  };
  const server = createNodeServer(listener, {
    http2: true,
    tls: {
      ...PROTOCOLS,
      SNICallback: (serverName, callback) => {
        contextFor(serverName).then(
          (context) => (context ? callback(null, context) : callback(new Error(`No certificate for ${serverName}`), undefined)),
          (error) => callback(error, undefined),
        );
      },
    },
  });
  if (defaultName) serveDefaultWithoutSni(server, certificates, defaultName);
  return server;
}

/**
 * A handshake without SNI gets the server's own context, which SNICallback never sees: it is the default
 * name's certificate, looked at (RECHECK_MS apart at most) as connections arrive, replaced once renewed.
 * @param {import('@chaussette/node-http').NodeHttpServer} server
 * @param {CertificateDirectory} certificates
 * @param {string} defaultName
 */
function serveDefaultWithoutSni(server, certificates, defaultName) {
  const tlsServer = /** @type {import('node:tls').Server} */ (/** @type {unknown} */ (server));
  /** @type {import('./certificate-directory.js').LoadedCertificate | undefined} */
  let inUse;
  const refresh = async () => {
    const certificate = await certificates.certificateFor(defaultName);
    if (!certificate || certificate === inUse) return;
    inUse = certificate;
    tlsServer.setSecureContext({ ...PROTOCOLS, cert: certificate.cert, key: certificate.key });
  };
  void refresh();
  tlsServer.on('connection', () => void refresh());
}
