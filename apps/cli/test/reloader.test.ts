import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { expectOneLineError, get, killAll, runCli, startCli } from './helpers.js';
import { loadGenerator } from './load.js';

afterEach(killAll);

const appSource = (version: string) => `export default { fetch: () => Response.json({ pid: process.pid, version: '${version}' }) };\n`;

test('--use-reloader: a change reloads the app under non-stop load with zero failed requests; node_modules is ignored; a broken version keeps the old one serving', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'chaussette-reload-'));
  try {
    const app = join(directory, 'app.mjs');
    writeFileSync(app, appSource('v1'));
    const cli = await startCli(['--use-reloader', '--host', '127.0.0.1', '--port', '0', 'app.mjs'], { cwd: directory });
    const where = /\((.+)\)/.exec(cli.addresses[0]!)![1]!; // `fd://3 (127.0.0.1:PORT)`: the child serves the parent's socket
    const answer = async () => JSON.parse((await get(where)).body) as { pid: number; version: string };
    const first = await answer();
    expect(first.version).toBe('v1');

    const load = loadGenerator(where);
    writeFileSync(app, appSource('v2'));
    let second = await answer();
    for (let attempt = 0; attempt < 200 && second.version !== 'v2'; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      second = await answer();
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    const result = await load.stop();
    expect(second.version).toBe('v2');
    expect(second.pid).not.toBe(first.pid);
    expect(result.errors).toEqual([]);
    expect(result.failed).toBe(0);

    mkdirSync(join(directory, 'node_modules'));
    writeFileSync(join(directory, 'node_modules', 'dependency.js'), 'module.exports = 1;\n');
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await answer()).pid).toBe(second.pid);

    writeFileSync(app, 'export default {{{ broken\n');
    for (let attempt = 0; attempt < 200 && !cli.output().includes('still serving the previous one'); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(cli.output()).toContain('The new version did not start: still serving the previous one');
    expect(await answer()).toEqual(second);

    writeFileSync(app, appSource('v3'));
    let third = await answer();
    for (let attempt = 0; attempt < 200 && third.version !== 'v3'; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      third = await answer();
    }
    expect(third.version).toBe('v3');
    expect(await cli.stop()).toBe(0);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}, 30_000);

test('--use-reloader: the server it runs keeps the limits and mounts given', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'chaussette-reload-'));
  try {
    writeFileSync(join(directory, 'app.mjs'), appSource('v1'));
    const cli = await startCli(['--use-reloader', '--host', '127.0.0.1', '--port', '0', '--limit-request-body', '10', '--mount', '/m=app.mjs'], { cwd: directory });
    const where = /\((.+)\)/.exec(cli.addresses[0]!)![1]!;
    expect((await get(where, '/m', { method: 'POST', body: 'x'.repeat(11) })).status).toBe(413);
    expect((await get(where, '/m', { method: 'POST', body: 'x'.repeat(10) })).status).toBe(200);
    expect((await get(where, '/elsewhere')).status).toBe(404);
    expect(await cli.stop()).toBe(0);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('--use-reloader with --max-requests: one line saying why not', async () => {
  expectOneLineError(await runCli(['--use-reloader', '--port', '0', '--max-requests', '100']), /--max-requests cannot be used with --use-reloader/);
});
