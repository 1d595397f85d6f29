// Certificates for TLS tests, made by the system's openssl in a temporary directory: a CA, a server
// certificate for localhost (127.0.0.1, ::1), EC and RSA, and one for other names (SNI), signed by it, and a client
// certificate it signed, next to one it did not.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate and key on disk, and their PEM text. */
export interface CertificateFiles {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export interface TestCertificates {
  directory: string;
  /** The CA that signed every certificate below but `strangerClient` (its file is the --ca-certs). */
  ca: CertificateFiles;
  /** For localhost, 127.0.0.1 and ::1. */
  localhost: CertificateFiles;
  /**
   * For localhost again, with an RSA key: only an RSA certificate can agree on a suite without forward
   * secrecy (RSA key exchange), so a server with it shows whether it refuses those.
   */
  localhostRsa: CertificateFiles;
  /** For `sni.test` and `*.sni.test`, to be picked by SNI. */
  otherNames: CertificateFiles;
  /** localhost's certificate again, with its key encrypted with `keyPassword`. */
  encryptedKey: CertificateFiles & { keyPassword: string };
  /** A client certificate (CN=client) signed by `ca`. */
  client: CertificateFiles;
  /** A client certificate signed by a CA the server does not trust. */
  strangerClient: CertificateFiles;
}

/** Makes a fresh set with openssl (Debian's `openssl` package); each call gets its own directory. */
export function makeTestCertificates(): TestCertificates {
  const directory = mkdtempSync(join(tmpdir(), 'chaussette-tls-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: directory, stdio: ['ignore', 'ignore', 'pipe'] });
  const files = (name: string): CertificateFiles => {
    const certFile = join(directory, `${name}.pem`);
    const keyFile = join(directory, `${name}.key`);
    return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  };
  const selfSigned = (name: string, subject: string) =>
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30', '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.pem`);
  const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  const signed = (name: string, by: string, subject: string, extensions: string, newKey = EC_KEY) => {
    writeFileSync(join(directory, `${name}.ext`), extensions);
    openssl('req', '-new', ...newKey, '-nodes', '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${by}.pem`, '-CAkey', `${by}.key`, '-CAcreateserial', '-days', '30', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  };
  selfSigned('ca', '/CN=chaussette test CA');
  selfSigned('stranger-ca', '/CN=a CA nobody trusts');
  signed('localhost', 'ca', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n');
  signed('localhost-rsa', 'ca', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n', ['-newkey', 'rsa:2048']);
  signed('other-names', 'ca', '/CN=sni.test', 'subjectAltName=DNS:sni.test,DNS:*.sni.test\nextendedKeyUsage=serverAuth\n');
  signed('client', 'ca', '/CN=client', 'extendedKeyUsage=clientAuth\n');
  signed('stranger-client', 'stranger-ca', '/CN=stranger', 'extendedKeyUsage=clientAuth\n');
  const keyPassword = 'correct horse battery staple';
  openssl('pkey', '-in', 'localhost.key', '-aes256', '-passout', `pass:${keyPassword}`, '-out', 'encrypted.key');
  const encryptedKeyFile = join(directory, 'encrypted.key');
  return {
    directory,
    ca: files('ca'),
    localhost: files('localhost'),
    localhostRsa: files('localhost-rsa'),
    otherNames: files('other-names'),
    encryptedKey: { ...files('localhost'), keyFile: encryptedKeyFile, key: readFileSync(encryptedKeyFile, 'utf8'), keyPassword },
    client: files('client'),
    strangerClient: files('stranger-client'),
  };
}

let shared: TestCertificates | undefined;

/** One set for the whole test file, made on first use and removed when the process exits. */
export function sharedTestCertificates(): TestCertificates {
  if (shared) return shared;
  const made = makeTestCertificates();
  process.once('exit', () => rmSync(made.directory, { recursive: true, force: true }));
  return (shared = made);
}
