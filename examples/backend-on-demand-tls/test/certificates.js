// Certificates in certbot's layout for the tests: the kit's CA (makeTestCertificates()) signs one per
// server name with openssl, written as <live>/<name>/fullchain.pem and privkey.pem, symlinks to numbered
// files in <archive>/<name>/ as certbot keeps them; a renewal writes the next numbers and re-points the links.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestCertificates } from '@chaussette/testkit';

export function certbotDirectory() {
  const kit = makeTestCertificates();
  const live = join(kit.directory, 'live');
  const archive = join(kit.directory, 'archive');
  mkdirSync(live);
  /** @type {Map<string, number>} */
  const issued = new Map();

  /** A certificate for `name`, the CA's next; returns its SHA-256 fingerprint. */
  const issue = (name) => {
    const version = (issued.get(name) ?? 0) + 1;
    issued.set(name, version);
    const folder = join(archive, name);
    mkdirSync(folder, { recursive: true });
    const cert = join(folder, `fullchain${version}.pem`);
    const key = join(folder, `privkey${version}.pem`);
    signCertificate(kit, name, cert, key);
    mkdirSync(join(live, name), { recursive: true });
    // The key's link first: between the two, the certificate in use does not match the new key.
    relink(key, join(live, name, 'privkey.pem'));
    relink(cert, join(live, name, 'fullchain.pem'));
    return new X509Certificate(readFileSync(cert)).fingerprint256;
  };

  return { ca: kit.ca.cert, root: kit.directory, live, issue, remove: () => rmSync(kit.directory, { recursive: true, force: true }) };
}

function signCertificate(kit, name, certFile, keyFile) {
  const openssl = (...args) => execFileSync('openssl', args, { cwd: kit.directory, stdio: ['ignore', 'ignore', 'pipe'] });
  const extensions = join(kit.directory, `${name}.ext`);
  writeFileSync(extensions, `subjectAltName=DNS:${name}\nextendedKeyUsage=serverAuth\n`);
  const request = `${keyFile}.csr`;
  openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`, '-keyout', keyFile, '-out', request);
  openssl('x509', '-req', '-in', request, '-CA', kit.ca.certFile, '-CAkey', kit.ca.keyFile, '-CAcreateserial', '-days', '30', '-extfile', extensions, '-out', certFile);
  rmSync(request);
}

/** Points `link` at `target` in one rename, as certbot does: a reader sees the old file or the new one. */
function relink(target, link) {
  symlinkSync(target, `${link}.new`);
  renameSync(`${link}.new`, link);
}
