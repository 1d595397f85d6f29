// TLS as the user asks for it (--certfile, --keyfile, --ca-certs, --cert-reqs, --ciphers), read and
// checked once, the same for every backend: each engine then makes its own contexts from TlsSettings.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { readFile } from 'node:fs/promises';
import { ChaussetteError, errorCode, errorMessage } from './errors.js';

/** Whether clients must present a certificate signed by --ca-certs (gunicorn's --cert-reqs). */
export type ClientCertificates = 'none' | 'optional' | 'required';

export const CLIENT_CERTIFICATES: readonly ClientCertificates[] = ['none', 'optional', 'required'];

/**
 * Forward-secret suites only: TLS 1.3's, then ECDHE with AEAD for TLS 1.2 (Mozilla's "intermediate"
 * list without the DHE suites, which need parameters of their own). None is on HTTP/2's deny list.
 */
export const DEFAULT_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const MIN_TLS_VERSION = 'TLSv1.2';

/** What the user gave: file paths and choices, read by loadTls(). */
export interface TlsRequest {
  /** --certfile, in order: PEM certificates (each may carry its chain after it). */
  certFiles: readonly string[];
  /** --keyfile: the private key of each certificate, in the same order. */
  keyFiles: readonly string[];
  /** The keys' password (CHAUSSETTE_KEYFILE_PASSWORD, or --keyfile-password-file's content). */
  keyPassword?: string;
  /** --ca-certs: PEM certificates of the authorities that sign client certificates. */
  caFile?: string;
  clientCertificates?: ClientCertificates;
  /** --ciphers, in OpenSSL's format; DEFAULT_CIPHERS when unset. */
  ciphers?: string;
  /** Offer HTTP/2 by ALPN beside HTTP/1.1 (--no-http2 turns it off); default true. */
  http2?: boolean;
}

/** A certificate and its key, read and checked. */
export interface ServedCertificate {
  certFile: string;
  keyFile: string;
  /** PEM, as read. */
  cert: string;
  key: string;
  /**
   * The names SNI picks it by: the certificate's DNS subjectAltNames (its common name when it has
   * none), lower case, wildcards (`*.example.com`) as written.
   */
  serverNames: readonly string[];
  /** When it expires. */
  validTo: Date;
}

/**
 * TLS for a backend to serve: ServeOptions.tls. Handshakes get the certificate whose names match the
 * client's SNI (certificateFor), the first one otherwise; TLS 1.2 at least; `ciphers` only.
 */
export interface TlsSettings {
  certificates: readonly ServedCertificate[];
  /** The keys' password, for an engine that reads the key files itself. */
  passphrase?: string;
  /** --ca-certs: the authorities client certificates are checked against (PEM, and its file). */
  ca?: { file: string; pem: string };
  /**
   * none: no certificate is asked for. optional: asked for, and the handshake goes on without one or
   * with one that does not verify (node apps read `req.socket.authorized`). required: a client without
   * a certificate that verifies against `ca` fails the handshake.
   */
  clientCertificates: ClientCertificates;
  minVersion: typeof MIN_TLS_VERSION;
  ciphers: string;
  /** Offer h2 by ALPN beside http/1.1 (on a backend that speaks HTTP/2). */
  http2: boolean;
}

/** Reads and checks every file of `request`; each problem is a ChaussetteError of one line. */
export async function loadTls(request: TlsRequest): Promise<TlsSettings> {
  const { certFiles, keyFiles, keyPassword } = request;
  if (certFiles.length === 0) throw new ChaussetteError('--keyfile needs --certfile: give the certificate that goes with the key');
  if (keyFiles.length !== certFiles.length) {
    throw new ChaussetteError(
      `Each --certfile needs its --keyfile, in the same order (given ${certFiles.length} --certfile and ${keyFiles.length} --keyfile)`,
    );
  }
  const clientCertificates = request.clientCertificates ?? 'none';
  if (clientCertificates !== 'none' && !request.caFile) {
    throw new ChaussetteError(`--cert-reqs ${clientCertificates} checks client certificates against --ca-certs: give the CA file that signs them`);
  }
  const ciphers = request.ciphers ?? DEFAULT_CIPHERS;
  const certificates = await Promise.all(certFiles.map((certFile, index) => readCertificate(certFile, keyFiles[index]!, keyPassword)));
  const ca = request.caFile ? { file: request.caFile, pem: await readCa(request.caFile) } : undefined;
  try {
    createSecureContext({ ciphers, minVersion: MIN_TLS_VERSION });
  } catch (error) {
    throw new ChaussetteError(`Invalid --ciphers ${JSON.stringify(ciphers)}: OpenSSL knows none of them (${errorMessage(error)})`, { cause: error });
  }
  return { certificates, passphrase: keyPassword, ca, clientCertificates, minVersion: MIN_TLS_VERSION, ciphers, http2: request.http2 ?? true };
}

/** --h2c is for plain HTTP: over TLS, HTTP/2 comes by ALPN. */
export function refuseH2cWithTls(h2c: boolean | undefined, tls: unknown): void {
  if (h2c && tls) throw new ChaussetteError('--h2c is HTTP/2 without TLS; with --certfile, HTTP/2 is offered by ALPN already: remove --h2c');
}

/** The certificate for a client's SNI server name: an exact name first, then a wildcard, else the first. */
export function certificateFor(settings: Pick<TlsSettings, 'certificates'>, serverName: string | undefined): ServedCertificate {
  const { certificates } = settings;
  if (serverName) {
    const name = serverName.toLowerCase().replace(/\.$/, '');
    const wildcard = `*${name.slice(name.indexOf('.'))}`;
    const found = certificates.find(({ serverNames }) => serverNames.includes(name)) ?? certificates.find(({ serverNames }) => serverNames.includes(wildcard));
    if (found) return found;
  }
  return certificates[0]!;
}

async function readCertificate(certFile: string, keyFile: string, passphrase: string | undefined): Promise<ServedCertificate> {
  const cert = await readPem(certFile, '--certfile');
  const key = await readPem(keyFile, '--keyfile');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (error) {
    throw new ChaussetteError(`--certfile ${certFile} holds no PEM certificate (${errorMessage(error)})`, { cause: error });
  }
  let privateKey;
  try {
    privateKey = createPrivateKey({ key, passphrase });
  } catch (error) {
    throw keyError(keyFile, key, passphrase, error);
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new ChaussetteError(`--keyfile ${keyFile} is not the key of --certfile ${certFile}: give each certificate's own key, in the same order`);
  }
  return { certFile, keyFile, cert, key, serverNames: serverNamesOf(x509), validTo: new Date(x509.validTo) };
}

function keyError(keyFile: string, key: string, passphrase: string | undefined, error: unknown): ChaussetteError {
  // PKCS#8's `BEGIN ENCRYPTED PRIVATE KEY`, or the traditional format's `Proc-Type: 4,ENCRYPTED`.
  if (/ENCRYPTED/.test(key)) {
    return new ChaussetteError(
      passphrase === undefined
        ? `--keyfile ${keyFile} is encrypted: give its password in CHAUSSETTE_KEYFILE_PASSWORD or in a file named by --keyfile-password-file`
        : `--keyfile ${keyFile} does not open with the password given (CHAUSSETTE_KEYFILE_PASSWORD or --keyfile-password-file)`,
      { cause: error },
    );
  }
  return new ChaussetteError(`--keyfile ${keyFile} holds no PEM private key (${errorMessage(error)})`, { cause: error });
}

async function readCa(caFile: string): Promise<string> {
  const pem = await readPem(caFile, '--ca-certs');
  try {
    new X509Certificate(pem);
  } catch (error) {
    throw new ChaussetteError(`--ca-certs ${caFile} holds no PEM certificate (${errorMessage(error)})`, { cause: error });
  }
  return pem;
}

async function readPem(file: string, option: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const why = errorCode(error) === 'ENOENT' ? 'it does not exist' : errorCode(error) === 'EACCES' ? 'this user may not read it' : errorMessage(error);
    throw new ChaussetteError(`Cannot read ${option} ${file}: ${why}`, { cause: error });
  }
}

function serverNamesOf(certificate: X509Certificate): string[] {
  const dnsNames = (certificate.subjectAltName ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice('DNS:'.length).toLowerCase());
  if (dnsNames.length > 0) return dnsNames;
  const commonName = /^CN=(.+)$/m.exec(certificate.subject)?.[1];
  return commonName ? [commonName.toLowerCase()] : [];
}
