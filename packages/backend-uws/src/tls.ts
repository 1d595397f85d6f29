// TLS on uWebSockets.js: an SSLApp, whose contexts uSockets makes with BoringSSL from files (it takes no
// PEM text). What uSockets does with them (src/crypto/openssl.c, create_ssl_context_from_options):
// TLS 1.2 at least, always; `ssl_ciphers` sets TLS 1.2's suites (BoringSSL keeps its three TLS 1.3
// suites whatever it is given: AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305, all forward-secret);
// `ca_file_name` asks for a client certificate (SSL_VERIFY_PEER): one that does not verify fails the
// handshake, none at all does not; no ALPN is offered. Each further server name gets a context of its
// own (addServerName) and a router of its own, which must be given the app's routes (see sslApp).
import { type ServedCertificate, type TlsSettings, certificateFor, ChaussetteError } from '@chaussette/core';
import type { AppOptions, TemplatedApp } from 'uWebSockets.js';
import { withoutEngineChatter } from './engine-chatter.js';
import type { Uws } from './uws.js';

/** The options of uSockets' context for `certificate` under `settings`. */
function sslOptions(settings: TlsSettings, certificate: ServedCertificate): AppOptions {
  const options: AppOptions = { cert_file_name: certificate.certFile, key_file_name: certificate.keyFile, ssl_ciphers: settings.ciphers };
  if (settings.passphrase !== undefined) options.passphrase = settings.passphrase;
  if (settings.clientCertificates !== 'none' && settings.ca) options.ca_file_name = settings.ca.file;
  return options;
}

/**
 * The names SNI picks a certificate by, each with the one certificateFor() picks for it: every name of
 * every certificate, when there are several (the first one's too, so that an exact name of the first
 * wins over a wildcard of another, as certificateFor() has it). Other names, and none, get the first.
 */
function serverNames(settings: TlsSettings): Map<string, ServedCertificate> {
  const names = new Map<string, ServedCertificate>();
  if (settings.certificates.length < 2) return names;
  for (const { serverNames } of settings.certificates) {
    for (const name of serverNames) if (!names.has(name)) names.set(name, certificateFor(settings, name));
  }
  return names;
}

/** uSockets' constructor says only `App construction failed`: this finds out which option it was. */
function newSslApp(uws: Uws, settings: TlsSettings, certificate: ServedCertificate): TemplatedApp {
  const options = sslOptions(settings, certificate);
  try {
    return uws.SSLApp(options);
  } catch (error) {
    let withoutCiphers: TemplatedApp | undefined;
    try {
      withoutCiphers = uws.SSLApp({ ...options, ssl_ciphers: undefined });
    } catch {
      // the files themselves
    }
    withoutCiphers?.close();
    throw new ChaussetteError(
      withoutCiphers
        ? `uWebSockets.js (BoringSSL) takes none of --ciphers ${JSON.stringify(settings.ciphers)} for TLS 1.2: name ECDHE suites that BoringSSL has (it has no DHE suites), or leave --ciphers unset`
        : `uWebSockets.js (BoringSSL) could not load --certfile ${certificate.certFile} with --keyfile ${certificate.keyFile}${options.ca_file_name ? ` and --ca-certs ${options.ca_file_name}` : ''}: did a file change since it was read?`,
      { cause: error },
    );
  }
}

/**
 * An SSLApp serving `settings`, its routes set by `route` on the app and on every SNI server name's
 * router (uWS routes a request by the name its handshake picked, and closes the connection when that
 * router has no route). Throws, before anything is served, if a certificate does not load.
 */
export function sslApp(uws: Uws, settings: TlsSettings, route: (app: TemplatedApp) => void): TemplatedApp {
  const names = serverNames(settings);
  // addServerName() drops a context that fails without a word, and domain() would then add the routes
  // to the default router again: each certificate is tried on an app of its own first.
  for (const certificate of new Set(names.values())) newSslApp(uws, settings, certificate).close();
  const app = newSslApp(uws, settings, settings.certificates[0]!);
  route(app);
  for (const [name, certificate] of names) {
    app.addServerName(name, sslOptions(settings, certificate));
    withoutEngineChatter(() => app.domain(name));
    route(app);
  }
  return app;
}
