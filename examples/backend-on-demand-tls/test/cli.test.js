// `chaussette --backend on-demand-tls`, as a user runs it: the package found by its name, the directory
// from the config file's backendOptions, names added and renewed while it runs.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { symlinkSync, writeFileSync } from 'node:fs';
import { connect as connectHttp2 } from 'node:http2';
import { get } from 'node:https';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RECHECK_MS } from '../certificate-directory.js';
import { certbotDirectory } from './certificates.js';

const here = fileURLToPath(new URL('..', import.meta.url));
const chaussette = join(here, 'node_modules', '.bin', 'chaussette');
const certbot = certbotDirectory();
afterAll(() => certbot.remove());

/** The handshake for `servername` (none when undefined): the certificate served and the protocol ALPN chose. */
function handshake(port, servername) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, ca: certbot.ca, ALPNProtocols: ['h2', 'http/1.1'], checkServerIdentity: () => undefined });
    socket.once('secureConnect', () => {
      resolve({ fingerprint: socket.getPeerCertificate().fingerprint256, protocol: socket.alpnProtocol });
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

function httpsBody(port, servername) {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/where?x=1', ca: certbot.ca, servername, headers: { host: servername } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
}

async function startChaussette(backendOptions) {
  const config = join(certbot.root, `chaussette-${Date.now()}.json`);
  writeFileSync(config, JSON.stringify({ backend: 'on-demand-tls', backendOptions }));
  const child = spawn(chaussette, ['--config', config, '--bind', '127.0.0.1:0', 'test/url-app.mjs'], { cwd: here });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  while (!/Serving on 127\.0\.0\.1:(\d+)/.test(output)) {
    if (child.exitCode !== null) throw new Error(`chaussette stopped: ${output}`);
    await Promise.race([once(child.stdout, 'data'), once(child, 'exit')]);
  }
  const port = Number(/Serving on 127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
  return { child, port, output: () => output };
}

async function stop(child) {
  child.kill('SIGTERM');
  if (child.exitCode === null) await once(child, 'exit');
}

describe('one process, names added and renewed while it runs', () => {
  const fingerprints = { 'a.test': certbot.issue('a.test'), 'b.test': certbot.issue('b.test') };
  let server;
  beforeAll(async () => {
    server = await startChaussette({ directory: certbot.live });
  });
  afterAll(() => stop(server.child));

  test('each name gets its own certificate, and the app its https URL', async () => {
    for (const name of ['a.test', 'b.test']) {
      expect((await handshake(server.port, name)).fingerprint).toBe(fingerprints[name]);
      expect(await httpsBody(server.port, name)).toBe(`https://${name}/where?x=1\n`);
    }
    expect((await handshake(server.port, 'B.Test')).fingerprint, 'SNI lower-cased').toBe(fingerprints['b.test']);
  });

  test('a name whose files appear while it runs is served at its next handshake', async () => {
    await expect(handshake(server.port, 'c.test')).rejects.toThrow();
    const added = certbot.issue('c.test');
    expect((await handshake(server.port, 'c.test')).fingerprint).toBe(added);
  });

  test('a renewal (the links re-pointed) is picked up within a few seconds, without a signal', async () => {
    const renewed = certbot.issue('a.test');
    expect(renewed).not.toBe(fingerprints['a.test']);
    const since = Date.now();
    let served = (await handshake(server.port, 'a.test')).fingerprint;
    while (served !== renewed && Date.now() - since < RECHECK_MS * 3) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      served = (await handshake(server.port, 'a.test')).fingerprint;
    }
    expect(served).toBe(renewed);
    expect(server.output()).toContain('Re-read the certificate of a.test');
  });

  test('unknown names, names that are no safe path, and no SNI: the handshake fails', async () => {
    // A certificate beside the live folder, where `../escape` would lead without the name's check.
    symlinkSync(join(certbot.live, 'b.test'), join(certbot.root, 'escape'));
    for (const servername of ['unknown.test', '../escape', 'a.test/..', '..', undefined]) {
      await expect(handshake(server.port, servername), String(servername)).rejects.toThrow();
    }
  });

  test('h2 by ALPN, and an HTTP/2 request served', async () => {
    expect((await handshake(server.port, 'b.test')).protocol).toBe('h2');
    const session = connectHttp2(`https://127.0.0.1:${server.port}`, { ca: certbot.ca, servername: 'b.test' });
    try {
      const stream = session.request({ ':path': '/where?h2=1', ':authority': 'b.test' });
      const [headers] = await once(stream, 'response');
      let body = '';
      stream.setEncoding('utf8');
      for await (const chunk of stream) body += chunk;
      expect(headers[':status']).toBe(200);
      expect(body).toBe('https://b.test/where?h2=1\n');
    } finally {
      session.close();
    }
  });
});

test('defaultName: served without SNI and for unknown names', async () => {
  const fingerprint = certbot.issue('default.test');
  const { child, port } = await startChaussette({ directory: certbot.live, defaultName: 'default.test' });
  try {
    expect((await handshake(port, undefined)).fingerprint).toBe(fingerprint);
    expect((await handshake(port, 'unknown.test')).fingerprint).toBe(fingerprint);
  } finally {
    await stop(child);
  }
});

test.each([
  [[], 'chaussette: error: The on-demand-tls backend needs backendOptions.directory: the folder of one folder per server name with fullchain.pem and privkey.pem (certbot\'s /etc/letsencrypt/live), in the --config file\n'],
  [[{ directory: '/nonexistent/live' }], 'chaussette: error: Invalid backendOptions.directory "/nonexistent/live": ENOENT: no such file or directory, stat \'/nonexistent/live\' (expected a folder of certificates)\n'],
])('without a usable directory: one line that says what to put in the config file (%j)', async ([backendOptions], stderr) => {
  const args = ['--backend', 'on-demand-tls', '--port', '0'];
  if (backendOptions) {
    const config = join(certbot.root, 'bad.json');
    writeFileSync(config, JSON.stringify({ backend: 'on-demand-tls', backendOptions }));
    args.push('--config', config);
  }
  const result = await promisify(execFile)(chaussette, args, { cwd: here }).catch((error) => error);
  expect(result.code).toBe(1);
  expect(result.stderr).toBe(stderr);
});
