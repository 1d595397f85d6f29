import { createServer as createHttpServer } from 'node:http';
import { createSecureServer, type SecureServerOptions } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureContext, type SecureContext, type SecureContextOptions, type Server as TlsServer, type TlsOptions } from 'node:tls';
import { certificateFor, type NodeListener, type ServedCertificate, type TlsSettings } from '@chaussette/core';
import type { NodeHttpServer } from './server-kinds.js';

/**
 * What a server is made with: node:https's or node:http2's TLS options (see tlsServerOptions), or none
 * for plain HTTP/1.1; `http2`: node:http2's secure server with allowHTTP1, h2 offered by ALPN.
 */
export interface NodeServerKind {
  tls?: TlsServerOptions;
  http2: boolean;
}

/** node:tls server options for TlsSettings, their SNICallback reading contexts updateTls() may replace. */
export type TlsServerOptions = TlsOptions & Pick<SecureServerOptions, 'allowHTTP1'>;

/** The contexts of a TLS server's certificates, made once per certificate, replaced whole by update(). */
export class SecureContexts {
  #settings: TlsSettings;
  #contexts: Map<ServedCertificate, SecureContext>;

  constructor(settings: TlsSettings) {
    this.#settings = settings;
    this.#contexts = contextsFor(settings);
  }

  /** The server options: the first certificate by default, the others by SNI (see certificateFor). */
  serverOptions(): TlsServerOptions {
    const { clientCertificates } = this.#settings;
    return {
      ...contextOptions(this.#settings, this.#settings.certificates[0]!),
      // node:https sets TCP_NODELAY, node:http2's server does not: Nagle's algorithm then holds a
      // response's chunks written a tick apart (a fetch app's stream) for the client's delayed ACK.
      noDelay: true,
      requestCert: clientCertificates !== 'none',
      rejectUnauthorized: clientCertificates === 'required',
      SNICallback: (serverName, callback) => callback(null, this.#contexts.get(certificateFor(this.#settings, serverName))),
    };
  }

  /** New handshakes on `server` get `settings`' certificates; open connections keep theirs. */
  update(server: TlsServer, settings: TlsSettings): void {
    const contexts = contextsFor(settings);
    server.setSecureContext(contextOptions(settings, settings.certificates[0]!));
    this.#settings = settings;
    this.#contexts = contexts;
  }
}

function contextsFor(settings: TlsSettings): Map<ServedCertificate, SecureContext> {
  return new Map(settings.certificates.map((certificate) => [certificate, createSecureContext(contextOptions(settings, certificate))]));
}

function contextOptions({ passphrase, ca, minVersion, ciphers }: TlsSettings, { cert, key }: ServedCertificate): SecureContextOptions {
  return { cert, key, passphrase, ca: ca?.pem, minVersion, ciphers };
}

/**
 * What an HTTP/2 server announces: at most 100 streams at once per session (node's default is no limit;
 * nginx's is 128, Apache's and h2o's 100), so that one client cannot hold a stream for each of millions.
 */
export const HTTP2_SETTINGS = { maxConcurrentStreams: 100 } as const;

/** node:http2's secure server options for `tls`: HTTP/1.1 beside h2 (allowHTTP1), HTTP2_SETTINGS announced. */
export function http2SecureOptions(tls: TlsServerOptions): SecureServerOptions {
  return { ...tls, allowHTTP1: true, settings: HTTP2_SETTINGS };
}

/**
 * The server for `kind`: node:http's, node:https's, or node:http2's secure server that speaks
 * HTTP/1.1 too (allowHTTP1), with `listener` for its requests.
 */
export function createNodeServer(listener: NodeListener, kind: NodeServerKind): NodeHttpServer {
  if (!kind.tls) return createHttpServer(listener);
  if (kind.http2) return createSecureServer(http2SecureOptions(kind.tls), listener as never);
  return createHttpsServer(kind.tls, listener);
}
