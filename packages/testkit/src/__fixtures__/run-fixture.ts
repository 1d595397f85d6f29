// Runs vitest on a fixture suite (a *.fixture.ts of this folder), in a process of its own, for the kit's
// own specs: this process's VITEST_* settings left out.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = fileURLToPath(new URL('../..', import.meta.url));
const VITEST = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');

/** vitest `command` on the fixture file `fixture` (e.g. 'suite.fixture'), with `args` and `env` added. */
export function runFixture(command: 'list' | 'run', fixture: string, args: string[], env: Record<string, string> = {}, timeout = 60_000): { status: number | null; output: string } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
  const result = spawnSync(process.execPath, [VITEST, command, fixture, ...args, '--root', PACKAGE, '--config', join(PACKAGE, 'src/__fixtures__/vitest.config.ts')], {
    env: { ...clean, ...env },
    encoding: 'utf8',
    timeout,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
