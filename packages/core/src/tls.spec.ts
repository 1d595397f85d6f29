import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { certificateFor, DEFAULT_CIPHERS, loadTls, type ServedCertificate } from './tls.js';

const served = (...serverNames: string[]) => ({ serverNames }) as unknown as ServedCertificate;

describe('certificateFor: the certificate a client’s SNI picks', () => {
  const certificates = [served('example.com', 'www.example.com'), served('*.shop.test'), served('api.shop.test')];
  test.each([
    ['example.com', 0],
    ['WWW.Example.COM', 0],
    ['example.com.', 0],
    ['api.shop.test', 2], // an exact name wins over a wildcard
    ['cart.shop.test', 1],
    ['a.b.shop.test', 0], // a wildcard covers one label
    ['shop.test', 0],
    ['unknown.org', 0],
    [undefined, 0], // no SNI (an IP address, an old client)
  ])('%s → certificate %i', (serverName, index) => {
    expect(certificateFor({ certificates }, serverName)).toBe(certificates[index]);
  });
});

describe('loadTls', () => {
  const directory = mkdtempSync(join(tmpdir(), 'chaussette-tls-spec-'));
  const make = (name: string, subject: string, extensions?: string) => {
    const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', subject];
    if (extensions) args.push('-addext', extensions);
    execFileSync('openssl', [...args, '-keyout', join(directory, `${name}.key`), '-out', join(directory, `${name}.pem`)], { stdio: 'ignore' });
    return { certFile: join(directory, `${name}.pem`), keyFile: join(directory, `${name}.key`) };
  };
  const named = make('named', '/CN=ignored.test', 'subjectAltName=DNS:App.Example.com,DNS:*.example.com,IP:127.0.0.1');
  const commonNameOnly = make('common-name', '/CN=legacy.test');

  test('reads each pair, with the names SNI picks it by, and secure defaults', async () => {
    const tls = await loadTls({ certFiles: [named.certFile, commonNameOnly.certFile], keyFiles: [named.keyFile, commonNameOnly.keyFile] });
    expect(tls.certificates.map(({ serverNames }) => serverNames)).toEqual([['app.example.com', '*.example.com'], ['legacy.test']]);
    expect(tls.certificates[0]!.validTo.getTime()).toBeGreaterThan(Date.now());
    expect(tls).toMatchObject({ clientCertificates: 'none', minVersion: 'TLSv1.2', ciphers: DEFAULT_CIPHERS, http2: true });
  });

  test('the default ciphers are forward-secret (ECDHE, or TLS 1.3) AEAD suites only, as OpenSSL reads them', () => {
    const suites = execFileSync('openssl', ['ciphers', '-v', DEFAULT_CIPHERS], { encoding: 'utf8' }).trim().split('\n');
    expect(suites.length).toBeGreaterThanOrEqual(6);
    for (const suite of suites) expect(suite).toMatch(/Kx=(ECDH|any) .*Enc=(AESGCM|CHACHA20\/POLY1305)/);
  });

  test.each([
    ['a key of another certificate', () => ({ certFiles: [named.certFile], keyFiles: [commonNameOnly.keyFile] }), /common-name\.key is not the key of --certfile .*named\.pem/],
    ['a key file as the certificate', () => ({ certFiles: [named.keyFile], keyFiles: [named.keyFile] }), /named\.key holds no PEM certificate/],
    ['pairs that do not pair', () => ({ certFiles: [named.certFile, commonNameOnly.certFile], keyFiles: [named.keyFile] }), /given 2 --certfile and 1 --keyfile/],
    ['client certificates without a CA', () => ({ certFiles: [named.certFile], keyFiles: [named.keyFile], clientCertificates: 'optional' as const }), /--cert-reqs optional checks client certificates against --ca-certs/],
    ['a CA file that holds no certificate', () => ({ certFiles: [named.certFile], keyFiles: [named.keyFile], caFile: named.keyFile }), /--ca-certs .*named\.key holds no PEM certificate/],
  ])('refuses %s in one line', async (_name, request, message) => {
    const error = await loadTls(request()).catch((caught: unknown) => caught as Error);
    expect(error).toMatchObject({ name: 'ChaussetteError', message: expect.stringMatching(message) });
    expect((error as Error).message).not.toContain('\n');
  });

  test('an encrypted key: refused without its password, or with a wrong one; opened with it', async () => {
    const encryptedKeyFile = join(directory, 'encrypted.key');
    execFileSync('openssl', ['pkey', '-in', named.keyFile, '-aes256', '-passout', 'pass:s3cret', '-out', encryptedKeyFile]);
    const request = { certFiles: [named.certFile], keyFiles: [encryptedKeyFile] };
    await expect(loadTls(request)).rejects.toThrow(/encrypted\.key is encrypted: give its password in CHAUSSETTE_KEYFILE_PASSWORD/);
    await expect(loadTls({ ...request, keyPassword: 'wrong' })).rejects.toThrow(/does not open with the password given/);
    expect((await loadTls({ ...request, keyPassword: 's3cret' })).passphrase).toBe('s3cret');
  });

  test('a file this user may not read', async () => {
    const unreadable = join(directory, 'unreadable.pem');
    writeFileSync(unreadable, '', { mode: 0o000 });
    // root reads it anyway, and finds no certificate in it.
    await expect(loadTls({ certFiles: [unreadable], keyFiles: [named.keyFile] })).rejects.toThrow(process.getuid?.() === 0 ? /unreadable\.pem holds no PEM certificate/ : /Cannot read --certfile .*unreadable\.pem: this user may not read it/);
  });
});
