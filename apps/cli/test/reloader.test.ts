import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { type CliProcess, expectOneLineError, FIXTURES, get, killAll, runCli, startCli } from './helpers.js';
import { loadGenerator } from './load.js';

const scratch: string[] = [];
afterEach(() => {
  killAll();
  for (const directory of scratch.splice(0)) rmSync(directory, { recursive: true, force: true });
});

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

/** A copy of fixtures/NAME in a directory of its own, removed after the test: the tests change its files. */
function copyOfFixture(name: string): string {
  const directory = mkdtempSync(join(tmpdir(), 'chaussette-reload-'));
  scratch.push(directory);
  cpSync(join(FIXTURES, name), directory, { recursive: true });
  return directory;
}

type Answer = Record<string, unknown> & { pid: number };

interface Reloader {
  cli: CliProcess;
  answer(): Promise<Answer>;
}

/** The reloader, once it watches: its first child has told it the files it loaded. */
async function startReloader(args: string[], cwd: string): Promise<Reloader> {
  const cli = await startCli(['--use-reloader', '--host', '127.0.0.1', '--port', '0', ...args], { cwd });
  await until(() => cli.output().includes('Reloader watching'));
  const where = /\((.+)\)/.exec(cli.addresses[0]!)![1]!;
  return { cli, answer: async () => JSON.parse((await get(where, '/')).body) as Answer };
}

async function until(condition: () => boolean | Promise<boolean>, ms = 8000): Promise<void> {
  for (const deadline = Date.now() + ms; !(await condition()); ) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Rewrites a file with `from` replaced by `to`. */
function edit(file: string, from: string, to: string): void {
  writeFileSync(file, readFileSync(file, 'utf8').replace(from, to));
}

/** A change to `file` makes a new server answer with `to` as the value of `key`. */
async function expectReloadFor(reloader: Reloader, file: string, key: string, from: string, to: string): Promise<void> {
  const before = await reloader.answer();
  edit(file, from, to);
  await until(async () => (await reloader.answer())[key] === to);
  expect((await reloader.answer()).pid).not.toBe(before.pid);
}

/** The same server still answers ~1.5 s later (a reload is debounced by 200 ms, then takes a few hundred). */
async function expectNoReload(reloader: Reloader, pid: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect((await reloader.answer()).pid).toBe(pid);
  expect(reloader.cli.output()).not.toContain('changed: reloading');
}

test('--use-reloader: an app outside the current directory reloads when its file changes', async () => {
  const app = join(copyOfFixture('reload-imports'), 'app', 'app.mjs');
  const reloader = await startReloader([app], copyOfFixture('reload-writer'));
  await expectReloadFor(reloader, app, 'app', 'app-v1', 'app-v2');
});

test('--use-reloader: files the app writes at run time never restart it (new uploads, .sqlite, .json; a .json it rewrites)', async () => {
  const directory = copyOfFixture('reload-writer');
  const reloader = await startReloader(['app.mjs'], directory);
  const { pid } = await reloader.answer();
  const where = /\((.+)\)/.exec(reloader.cli.addresses[0]!)![1]!;
  for (let round = 0; round < 2; round++) expect((await get(where, '/write', { method: 'POST' })).status).toBe(200);
  expect(readFileSync(join(directory, 'state.json'), 'utf8')).toBe('{"writes":2}');
  await expectNoReload(reloader, pid);
  await expectReloadFor(reloader, join(directory, 'app.mjs'), 'version', 'writer-v1', 'writer-v2');
});

test('--use-reloader: a change to a module the app imports reloads it, ESM, CommonJS or JSON, also outside its directory', async () => {
  const directory = copyOfFixture('reload-imports');
  const reloader = await startReloader(['app.mjs'], join(directory, 'app'));
  await expectReloadFor(reloader, join(directory, 'shared', 'esm-part.mjs'), 'esm', 'esm-v1', 'esm-v2');
  await expectReloadFor(reloader, join(directory, 'shared', 'cjs-part.cjs'), 'cjs', 'cjs-v1', 'cjs-v2');
  await expectReloadFor(reloader, join(directory, 'shared', 'settings.json'), 'settings', 'settings-v1', 'settings-v2');
  await expectReloadFor(reloader, join(directory, 'app', 'vendor', 'dep.mjs'), 'vendor', 'vendor-v1', 'vendor-v2');
});

test('--reload-exclude: no reload for a change there, imported or not', async () => {
  const directory = copyOfFixture('reload-imports');
  const reloader = await startReloader(['--reload-exclude', 'vendor', '--reload-exclude', 'shared/*.mjs', 'app.mjs'], join(directory, 'app'));
  const { pid } = await reloader.answer();
  edit(join(directory, 'app', 'vendor', 'dep.mjs'), 'vendor-v1', 'vendor-v2');
  edit(join(directory, 'shared', 'esm-part.mjs'), 'esm-v1', 'esm-v2');
  await expectNoReload(reloader, pid);
  await expectReloadFor(reloader, join(directory, 'shared', 'cjs-part.cjs'), 'cjs', 'cjs-v1', 'cjs-v2');
});

test("--reload-dir: its source files reload the app, instead of the app's directory's; the modules it loaded still do", async () => {
  const directory = copyOfFixture('reload-imports');
  const reloader = await startReloader(['--reload-dir', '../extra', 'app.mjs'], join(directory, 'app'));
  expect(reloader.cli.output()).toContain(`under ${join(directory, 'extra')}`);
  const { pid } = await reloader.answer();
  edit(join(directory, 'app', 'unimported.mjs'), 'unimported-v1', 'unimported-v2');
  await expectNoReload(reloader, pid);
  edit(join(directory, 'extra', 'notes.mjs'), 'notes-v1', 'notes-v2');
  await until(async () => (await reloader.answer()).pid !== pid);
  await expectReloadFor(reloader, join(directory, 'app', 'app.mjs'), 'app', 'app-v1', 'app-v2');
});

test('--reload-include: files matching it under the app directory reload it too', async () => {
  const directory = copyOfFixture('reload-imports');
  const reloader = await startReloader(['--reload-include', '*.html', 'app.mjs'], join(directory, 'app'));
  const { pid } = await reloader.answer();
  writeFileSync(join(directory, 'app', 'views', 'index.html'), '<h1>index-v2</h1>\n');
  await until(async () => (await reloader.answer()).pid !== pid);
  expect(reloader.cli.output()).toContain('views/index.html changed: reloading');
});

test('--reload-dir, --reload-include, --reload-exclude without --use-reloader: one line saying why not', async () => {
  for (const [flag, value] of [['--reload-dir', '.'], ['--reload-include', '*.html'], ['--reload-exclude', 'uploads']]) {
    expectOneLineError(await runCli([flag!, value!, '--port', '0']), new RegExp(`${flag} applies only with --use-reloader`));
  }
  expectOneLineError(await runCli(['--reload-dir', '.', '--reload-exclude', 'x', '--port', '0']), /--reload-dir, --reload-exclude apply only with --use-reloader/);
});

test('--reload-dir that is no directory: one line saying so', async () => {
  expectOneLineError(await runCli(['--use-reloader', '--reload-dir', 'no-such-dir', '--port', '0']), /Invalid --reload-dir "no-such-dir" \(expected a directory; there is none at /);
});
