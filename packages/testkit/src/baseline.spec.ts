// The served baseline, shown on a backend that cannot speak HTTP (__fixtures__/broken-backend.mjs): a
// closed connection, or garbage, looks like a refusal to every refusal case, yet each case must fail,
// those under a concern's baseline saying that the server did not serve it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runFixture } from './__fixtures__/run-fixture.js';
import { BASELINE_CASE, NOT_SERVED } from './baseline.js';

interface CaseResult {
  ancestorTitles: string[];
  title: string;
  status: string;
  failureMessages: string[];
}

/** The refusal concerns, the TLS and the HTTP/2 ones, run on the broken backend: each case's outcome. */
function runOnBrokenBackend(mode: 'close' | 'garbage'): CaseResult[] {
  const directory = mkdtempSync(join(tmpdir(), 'chaussette-kit-baseline-'));
  try {
    const file = join(directory, 'results.json');
    const filter = '(HTTP/1.1 framing|hostile clients > limits and malformed|bodies in pieces > one answer|TLS|HTTP/2)';
    runFixture('run', 'broken.fixture', ['-t', filter, '--reporter=json', `--outputFile=${file}`], { KIT_BROKEN: mode }, 120_000);
    const report = JSON.parse(readFileSync(file, 'utf8')) as { testResults: { assertionResults: CaseResult[] }[] };
    return report.testResults.flatMap(({ assertionResults }) => assertionResults).filter(({ status }) => status !== 'skipped' && status !== 'pending');
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const concernOf = (result: CaseResult) => result.ancestorTitles[1];

describe.each(['close', 'garbage'] as const)('a server that answers every connection with %s', (mode) => {
  test('fails every framing, limit, TLS and HTTP/2 case; the refusal cases say the baseline was not served', () => {
    const results = runOnBrokenBackend(mode);
    const concerns = new Set(results.map(concernOf));
    expect(concerns).toEqual(new Set(['hostile clients', 'HTTP/1.1 framing (RFC 9112)', 'bodies in pieces', 'TLS', 'HTTP/2']));
    expect(results.filter(({ status }) => status !== 'failed').map(({ ancestorTitles, title }) => [...ancestorTitles, title].join(' > '))).toEqual([]);
    const refusals = results.filter((result) => concernOf(result) !== 'TLS' && concernOf(result) !== 'HTTP/2' && result.title !== BASELINE_CASE);
    expect(refusals.length).toBeGreaterThan(100);
    expect(refusals.filter(({ failureMessages }) => !failureMessages.join('\n').includes(NOT_SERVED)).map(({ title }) => title)).toEqual([]);
  }, 130_000);
});
