// `chaussette --backend https`, as a user runs it: the package found by its name, the certificate from
// the config file's backendOptions.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, test } from 'vitest';
import { localhostCertificate } from './certificate.js';

const here = fileURLToPath(new URL('..', import.meta.url));
const chaussette = join(here, 'node_modules', '.bin', 'chaussette');
const certificate = localhostCertificate();
const config = join(certificate.directory, 'chaussette.json');
writeFileSync(config, JSON.stringify({ backend: 'https', backendOptions: { cert: certificate.cert, key: certificate.key } }));
afterAll(() => rmSync(certificate.directory, { recursive: true, force: true }));

test('serves a fetch app over TLS; the app sees an https URL', async () => {
  const child = spawn(chaussette, ['--config', config, '--bind', '127.0.0.1:0', 'test/url-app.mjs'], { cwd: here });
  try {
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    while (!/Using the https backend \(node:https, OpenSSL/.test(output)) await once(child.stdout, 'data');
    const port = Number(/Serving on 127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
    const body = await new Promise((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/where?x=1', ca: certificate.ca, servername: 'localhost' }, (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve(text));
      }).on('error', reject);
    });
    expect(body).toBe(`https://127.0.0.1:${port}/where?x=1\n`);
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
});

test('without a certificate: one line that says what to put in the config file', async () => {
  const result = await promisify(execFile)(chaussette, ['--backend', 'https', '--port', '0'], { cwd: here }).catch((error) => error);
  expect(result.code).toBe(1);
  expect(result.stderr).toBe(
    'chaussette: error: The https backend needs backendOptions.cert: the path of the PEM certificate, in the --config file\n',
  );
});
