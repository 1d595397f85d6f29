// The names of the kit's cases, as a backend sees them: each findable (a full name of its own, under
// the describe of its concern), and each name a backend may list in knownFailures checked.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { runFixture } from './__fixtures__/run-fixture.js';
import { nameProblems } from './names.js';

/** The concerns, in the order the suite runs them: one top-level describe each, one file each. */
const CONCERNS = [
  'serving',
  'bodies and streaming',
  'the request handed on (new Request, fetch, clone)',
  'the fetch standard',
  'access log',
  'proxy headers',
  'listening',
  'inherited sockets',
  'hostile clients',
  'HTTP/1.1 framing (RFC 9112)',
  'node:http compatibility (what middleware relies on)',
  'bodies in pieces',
  'WebSockets (a fetch app with websocket handlers)',
  'stopping under load',
  'graceful close',
  'TLS',
  'HTTP/2',
];

describe('the names of the kit\'s cases', () => {
  let cases: string[][];

  beforeAll(() => {
    const directory = mkdtempSync(join(tmpdir(), 'chaussette-kit-names-'));
    try {
      const file = join(directory, 'cases.json');
      // Collected by running the file: vitest 5 parses it statically by default, which finds no describe a function call makes.
      const { status, output } = runFixture('list', 'suite.fixture', ['--staticParse=false', `--json=${file}`]);
      expect(status, output).toBe(0);
      cases = (JSON.parse(readFileSync(file, 'utf8')) as { name: string }[]).map(({ name }) => name.split(' > '));
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }, 60_000);

  test('every case has a full name of its own', () => {
    expect(cases.length).toBeGreaterThan(200);
    expect(nameProblems(cases)).toEqual([]);
  });

  test('every case is under the describe of its concern, one per concern, in the suite\'s order', () => {
    expect(new Set(cases.map((path) => path[0]))).toEqual(new Set(['chaussette backend conformance (kit-fixture)']));
    expect([...new Set(cases.map((path) => path[1]))]).toEqual(CONCERNS);
  });

  test('nameProblems() reports a full name two cases share, and a knownFailures name that is no case', () => {
    const some = cases.slice(0, 3);
    expect(nameProblems(some, some.map((path) => path.at(-1)!))).toEqual([]);
    expect(nameProblems([...some, some[1]!])).toEqual([`two cases are named ${JSON.stringify(some[1]!.join(' > '))}`]);
    expect(nameProblems(some, ['no such case'])).toEqual(['knownFailures lists "no such case", which is not the name of a case of the kit']);
  });

  test('a suite whose knownFailures lists a name that is no case fails, saying which', () => {
    const { status, output } = runFixture('run', 'suite.fixture', ['-t', 'graceful close'], { KIT_KNOWN_FAILURES: JSON.stringify(['refuses a chunk size `0x5`', 'refuses a chunk size 0x5']) });
    expect(status).not.toBe(0);
    expect(output).toContain('knownFailures lists "refuses a chunk size 0x5", which is not the name of a case of the kit');
    expect(output).not.toContain('knownFailures lists "refuses a chunk size `0x5`"');
  }, 60_000);
});
