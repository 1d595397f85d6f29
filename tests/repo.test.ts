// Checks over the whole repository: lint rules, type-checking of tests, and package manifests.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { describe, expect, test } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const packages = ['packages', 'apps'].flatMap((group) => readdirSync(`${root}/${group}`).map((name) => `${group}/${name}`));

describe('the repository', () => {
  test('passes eslint: no floating promises, core imports no backend', async () => {
    const eslint = new ESLint({ cwd: root });
    const results = await eslint.lintFiles(['.']);
    const problems = results.flatMap((result) =>
      result.messages.map((message) => `${result.filePath.slice(root.length)}:${message.line} ${message.ruleId}: ${message.message}`),
    );
    expect(problems).toEqual([]);
  }, 120_000);

  // With the package's own TypeScript, the one its build uses (the root's is the 6 typescript-eslint needs).
  test.each(packages)('%s type-checks, tests included', (directory) => {
    const tsc = `${root}/${directory}/node_modules/typescript/bin/tsc`;
    expect(() => execFileSync(process.execPath, [tsc, '--noEmit', '-p', `${root}/${directory}`], { stdio: 'pipe' })).not.toThrow();
  }, 120_000);

  test.each(packages)('%s has a README, a license file, engines and its repository directory', (directory) => {
    const manifest = JSON.parse(readFileSync(`${root}/${directory}/package.json`, 'utf8')) as {
      license?: string;
      engines?: { node?: string };
      repository?: { directory?: string };
    };
    expect(existsSync(`${root}/${directory}/README.md`)).toBe(true);
    expect(readFileSync(`${root}/${directory}/LICENSE`, 'utf8')).toBe(readFileSync(`${root}/LICENSE`, 'utf8'));
    expect(manifest).toMatchObject({ license: 'MIT', engines: { node: '>=22.12' }, repository: { directory } });
  });

  test('changesets plans the bumps the changesets say: no major from a peer dependency on core, in 0.x', () => {
    const output = join(tmpdir(), `chaussette-changeset-status-${process.pid}.json`);
    try {
      execFileSync(process.execPath, [`${root}/node_modules/@changesets/cli/bin.js`, 'status', `--output=${output}`], { cwd: root, stdio: 'pipe' });
      const { releases } = JSON.parse(readFileSync(output, 'utf8')) as { releases: { name: string; type: string }[] };
      expect(releases.filter((release) => release.type === 'major')).toEqual([]);
    } finally {
      rmSync(output, { force: true });
    }
  });

  test.each(packages)('%s is publishable as built (publint)', async (directory) => {
    const { messages, pkg } = await publint({ pkgDir: `${root}/${directory}`, level: 'warning', strict: true, pack: 'npm' });
    expect(messages.map((message) => formatMessage(message, pkg))).toEqual([]);
  }, 30_000);
});
