// The TLS and HTTP/2 concerns can fail: run on a backend that serves both but keeps none of their promises
// (__fixtures__/lax-backend.mjs: node:http2 with weak TLS, no SNI, no client certificates, no limits, no
// updateTls, no HTTP/1.1 beside h2c), the cases of those promises fail while the baselines are served.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { runFixture } from './__fixtures__/run-fixture.js';
import { BASELINE_CASE } from './baseline.js';

interface CaseResult {
  ancestorTitles: string[];
  title: string;
  status: string;
}

const MUST_FAIL = [
  'refuses a TLS 1 handshake',
  'refuses a TLS 1.1 handshake',
  'refuses a suite without forward secrecy (AES128-GCM-SHA256 with TLS 1.2), agrees on ECDHE-RSA-AES128-GCM-SHA256',
  'SNI: a.sni.test gets the certificate of sni.test and *.sni.test, localhost and no name the first one',
  'limits as over TCP: a body past the limit gets 413, and nothing pipelined behind it is served',
  'limits as over TCP: headers past the limit get 431, and nothing pipelined behind them is served',
  'optional: a client with a certificate the CA signed is served, and the app sees it (CN=client)',
  'required: a client without a certificate, or with one another CA signed, is refused',
  'a new handshake gets the new certificate; a keep-alive connection opened before keeps working',
  'HTTP/1.1 is served beside h2c on the same socket',
  'a body past the limit gets 413 on its stream; another stream on the session is served',
  'headers past the limit get 431 on their stream; another stream on the session is served',
  'past the concurrency limit a stream gets 503; the one in flight and the next are served',
];

test('on a lax TLS and HTTP/2 backend, the cases of the promises it breaks fail, and its baselines pass', () => {
  const directory = mkdtempSync(join(tmpdir(), 'chaussette-kit-lax-'));
  let results: CaseResult[];
  try {
    const file = join(directory, 'results.json');
    // The inherited-fd case needs the build's fd-child.js, and the lax backend's throwing app hangs: left out.
    const filter = String.raw`^(?!.*(inherited fd|throws)).*\) > (TLS|HTTP/2) > `;
    runFixture('run', 'lax.fixture', ['-t', filter, '--reporter=json', `--outputFile=${file}`], {}, 120_000);
    const report = JSON.parse(readFileSync(file, 'utf8')) as { testResults: { assertionResults: CaseResult[] }[] };
    results = report.testResults.flatMap(({ assertionResults }) => assertionResults).filter(({ status }) => status === 'passed' || status === 'failed');
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  const failed = new Set(results.filter(({ status }) => status === 'failed').map(({ title }) => title));
  expect(MUST_FAIL.filter((title) => !failed.has(title))).toEqual([]);
  const baselines = results.filter(({ title }) => title === BASELINE_CASE);
  expect(baselines.length).toBe(7); // those of node apps: the lax backend serves no other kind
  expect(baselines.filter(({ status }) => status !== 'passed').map(({ ancestorTitles }) => ancestorTitles.join(' > '))).toEqual([]);
}, 130_000);
