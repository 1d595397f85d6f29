// Importing the package loads no uWebSockets.js: here its build is a stand-in that has binaries for
// other Node.js versions only (and throws if loaded), as 20.57.0 is on Node 26. The import works, and
// serve() refuses in one line.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isChaussetteError } from '@chaussette/core';
import { recordingLogger } from '@chaussette/testkit';
import { afterAll, expect, test } from 'vitest';

const build = mkdtempSync(join(tmpdir(), 'chaussette-uws-elsewhere-'));
afterAll(() => rmSync(build, { recursive: true, force: true }));
writeFileSync(join(build, 'package.json'), JSON.stringify({ name: 'uws-for-other-nodes', version: '20.99.0', main: 'uws.js' }));
writeFileSync(join(build, 'uws.js'), "throw new Error('uWebSockets.js was loaded');\n");
const otherAbi = process.versions.modules === '115' ? 127 : 115;
writeFileSync(join(build, `uws_${process.platform}_${process.arch}_${otherAbi}.node`), '');

// Read once, when uws.ts is first imported: set it around that import only.
process.env.CHAUSSETTE_UWS_MODULE = build;
const { default: backend } = await import('./index.js');
delete process.env.CHAUSSETTE_UWS_MODULE;

test('importing the package loads no engine; serve() says in one ChaussetteError which Node.js versions the build has binaries for', async () => {
  expect(backend.name).toBe('uws');
  const app = { kind: 'fetch', fetch: () => new Response('never'), description: 'test app', source: undefined } as const;
  const serving = backend.serve(app, { type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 }, { logger: recordingLogger() });
  const error = await serving.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(isChaussetteError(error)).toBe(true);
  expect((error as Error).message).toMatch(/^uWebSockets\.js 20\.99\.0 \(uws-for-other-nodes\) has no binary for Node\.js v[\d.]+ \(ABI \d+, [\w-]+\): it has binaries for Node\.js (20|22) only\. Use one of those Node\.js versions, or --backend node or --backend fastify$/);
  expect((error as Error).message).not.toContain('\n');
});
