import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { uwsUnavailableReason } from './uws.js';

const scratch = mkdtempSync(join(tmpdir(), 'chaussette-uws-builds-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A stand-in uWebSockets.js package with (empty) binaries for these ABIs, at the top or in `binaries/` as 20.30 has them. */
function fakeBuild(name: string, abis: number[], folder = ''): string {
  const directory = join(scratch, name);
  mkdirSync(join(directory, folder), { recursive: true });
  writeFileSync(join(directory, 'package.json'), JSON.stringify({ name, version: '20.99.0', main: 'uws.js' }));
  writeFileSync(join(directory, 'uws.js'), "throw new Error('not to be loaded');\n");
  for (const abi of abis) writeFileSync(join(directory, folder, `uws_${process.platform}_${process.arch}_${abi}.node`), '');
  // Another platform's binary for this very ABI does not count.
  writeFileSync(join(directory, `uws_otheros_${process.arch}_${process.versions.modules}.node`), '');
  return directory;
}

const runningAbi = Number(process.versions.modules);

describe('uwsUnavailableReason: whether the installed build has a binary for this Node.js, without loading it', () => {
  test('a build without one: the Node.js versions it has binaries for, and the other backends', () => {
    const otherAbis = [115, 127, 141, 147].filter((abi) => abi !== runningAbi).slice(0, 3);
    const reason = uwsUnavailableReason(fakeBuild('without-this-abi', otherAbis));
    const majors = { 115: 20, 127: 22, 141: 25, 147: 26 } as Record<number, number>;
    const listed = otherAbis.map((abi) => majors[abi]);
    expect(reason).toBe(
      `uWebSockets.js 20.99.0 (without-this-abi) has no binary for Node.js ${process.version} (ABI ${runningAbi}, ${process.platform}-${process.arch}): ` +
        `it has binaries for Node.js ${listed[0]}, ${listed[1]} and ${listed[2]} only. Use one of those Node.js versions, or --backend node or --backend fastify`,
    );
  });

  test('binaries in a subdirectory (20.30 keeps them in binaries/), and an ABI of no known Node.js named as such', () => {
    expect(uwsUnavailableReason(fakeBuild('in-a-folder', [runningAbi], 'binaries'))).toBeUndefined();
    expect(uwsUnavailableReason(fakeBuild('unknown-abi', [9999], 'binaries'))).toMatch(/it has binaries for Node\.js ABI 9999 only/);
  });

  test('a build with one, or whose binaries cannot be listed, is not declared unavailable (loading it says what is wrong)', () => {
    expect(uwsUnavailableReason(fakeBuild('with-this-abi', [runningAbi]))).toBeUndefined();
    expect(uwsUnavailableReason(fakeBuild('no-binaries', []))).toBeUndefined();
    expect(uwsUnavailableReason(join(scratch, 'not-installed'))).toBeUndefined();
  });

  test('the build this package depends on has binaries for Node.js 20, 22, 24 and 25', () => {
    const reason = uwsUnavailableReason('uWebSockets.js');
    if ([115, 127, 137, 141].includes(runningAbi)) expect(reason).toBeUndefined();
    else expect(reason).toMatch(/it has binaries for Node\.js 20, 22, 24 and 25 only/);
  });

  test('uWebSockets.js 20.30 (@trufflesuite) has binaries up to Node.js 20', () => {
    const reason = uwsUnavailableReason('uws-20.30');
    if ([93, 108, 115].includes(runningAbi)) expect(reason).toBeUndefined();
    else expect(reason).toMatch(/^uWebSockets\.js 20\.30\.0-unofficial\.0 \(@trufflesuite\/uws-js-unofficial\) has no binary for .*it has binaries for Node\.js 16, 18 and 20 only/);
  });
});
