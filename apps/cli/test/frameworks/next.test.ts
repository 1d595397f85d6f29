import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { expectOneLineError, runCli } from '../helpers.js';
import { describeBuild } from './build-check.js';

// Next.js 16 and 15.
for (const [example, major] of [['next', 16], ['next-15', 15]] as const) {
  describeBuild({
    example,
    args: ['.next'],
    recognised: new RegExp(`Application is a Next\\.js build \\(\\.next, Next\\.js ${major}\\.\\d+\\.\\d+\\)`),
    env: { NEXT_TELEMETRY_DISABLED: '1' },
  });
}

const scratch = mkdtempSync(join(tmpdir(), 'chaussette-next-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test('a .next with no production build in it (next dev only) is refused in one line', async () => {
  mkdirSync(join(scratch, '.next/dev'), { recursive: true });
  const result = await runCli(['.next'], { cwd: scratch });
  expectOneLineError(result, '.next holds no production build of Next.js (no BUILD_ID; `next dev` builds for development only): run `next build` first');
  expect(result.stdout).not.toMatch(/Serving on/);
});
