import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { expectOneLineError, get, killAll, runCli, skipUnlessServable, startCli } from './helpers.js';

afterEach(killAll);

const backends = ['node', 'fastify', 'uws'];

describe('Fastify plugins and listeners, told apart on every backend', () => {
  test.for(['node', 'uws'])('a Fastify plugin on the %s backend is served through a Fastify instance, not taken for a listener', async (backend, context) => {
    skipUnlessServable(backend, context);
    const cli = await startCli(['fastify-plugin.mjs', '--backend', backend, '--port', '0']);
    expect(cli.output()).toContain("Application is a Fastify plugin routes (through a Fastify instance's request listener; --backend fastify serves it natively)");
    const reply = await get(cli.addresses[0]!, '/orders', { method: 'POST', body: '{"item":"socks"}', headers: { 'content-type': 'application/json' } });
    expect(reply.status).toBe(201);
    expect(JSON.parse(reply.body)).toEqual({ order: { item: 'socks' }, by: cli.child.pid });
    expect(await cli.stop()).toBe(0);
  });

  test.for(backends)('function app(req, res) on the %s backend is a listener, not a Fastify plugin', async (backend, context) => {
    skipUnlessServable(backend, context);
    const cli = await startCli(['listener-named-app.mjs', '--backend', backend, '--port', '0']);
    expect(cli.output()).toContain('Application is function app (node request listener)');
    expect((await get(cli.addresses[0]!)).body).toBe('a listener named app');
    expect(await cli.stop()).toBe(0);
  });
});

describe('NODE_ENV', () => {
  // vitest sets NODE_ENV=test for itself: the servers here start without it, as from a shell.
  const withoutNodeEnv = { ...process.env, NODE_ENV: undefined };

  test('unset: production, said at start-up', async () => {
    const cli = await startCli(['node-env.mjs', '--port', '0'], { env: withoutNodeEnv });
    expect((await get(cli.addresses[0]!)).body).toBe('production');
    expect(cli.output()).toContain('NODE_ENV was not set: it is production; set it to choose another');
    expect(await cli.stop()).toBe(0);
  });

  test('unset, with --use-reloader: development', async () => {
    const cli = await startCli(['node-env.mjs', '--port', '0', '--use-reloader'], { env: withoutNodeEnv });
    expect(cli.output()).toContain('NODE_ENV was not set: it is development (--use-reloader)');
    // The reloader's child serves the socket its parent holds: `fd://3 (127.0.0.1:PORT)`.
    const where = /\((.+)\)$/.exec(cli.addresses[0]!)![1]!;
    expect((await get(where)).body).toBe('development');
    expect(await cli.stop()).toBe(0);
  });

  test('set: kept, and nothing said', async () => {
    const cli = await startCli(['node-env.mjs', '--port', '0'], { env: { ...process.env, NODE_ENV: 'staging' } });
    expect((await get(cli.addresses[0]!)).body).toBe('staging');
    expect(cli.output()).not.toContain('NODE_ENV');
    expect(await cli.stop()).toBe(0);
  });
});

describe('a framework build of a shape chaussette does not understand', () => {
  const made: string[] = [];
  afterAll(() => {
    for (const directory of made.splice(0)) rmSync(directory, { recursive: true, force: true });
  });

  /** A project in a fresh temporary directory: its files, and packages installed at the versions given. */
  function project(files: Record<string, string>, packages: Record<string, string>): string {
    const root = mkdtempSync(join(tmpdir(), 'chaussette-framework-'));
    made.push(root);
    const manifests = Object.entries(packages).map(([name, version]): [string, string] => [`node_modules/${name}/package.json`, JSON.stringify({ name, version })]);
    for (const [file, text] of [...Object.entries(files), ...manifests]) {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      writeFileSync(join(root, file), text);
    }
    return root;
  }

  // What a build's own server does when imported: leave a mark, and listen.
  const listensWhenImported = "import { writeFileSync } from 'node:fs';\nwriteFileSync(new URL('imported', import.meta.url), '');\n(await import('node:http')).createServer().listen(0);\n";

  test('a SvelteKit build without handler.js (a future adapter-node): one line naming the versions, and its index.js not imported', async () => {
    const root = project(
      { 'build/index.js': listensWhenImported, 'build/client/_app/version.json': '{}', 'build/server/index.js': '' },
      { '@sveltejs/kit': '4.0.0', '@sveltejs/adapter-node': '7.0.0' },
    );
    const result = await runCli(['--port', '0', 'build'], { cwd: root });
    expectOneLineError(result, 'build is a SvelteKit build (@sveltejs/kit 4.0.0, @sveltejs/adapter-node 7.0.0) without handler.js, the file adapter-node documents for custom servers; its build/index.js listens on a port of its own, so chaussette does not import it');
    expect(existsSync(join(root, 'build/imported'))).toBe(false);
  });

  test('an Astro build of an @astrojs/node major chaussette does not know: one line naming the versions, and its entry not imported', async () => {
    const root = project({ 'dist/server/entry.mjs': listensWhenImported, 'dist/client/favicon.svg': '' }, { astro: '8.0.0', '@astrojs/node': '12.0.0' });
    const result = await runCli(['--port', '0', 'dist'], { cwd: root });
    expectOneLineError(result, 'dist is an Astro build (astro 8.0.0, @astrojs/node 12.0.0): chaussette knows how to keep @astrojs/node 9 to 11 from listening on a port of its own, so it does not import dist/server/entry.mjs');
    expect(existsSync(join(root, 'dist/server/imported'))).toBe(false);
  });

  test('an Astro build with its packages not installed beside it: the version is unknown, and its entry not imported', async () => {
    const root = project({ 'dist/server/entry.mjs': listensWhenImported, 'dist/client/favicon.svg': '' }, {});
    const result = await runCli(['--port', '0', 'dist/server/entry.mjs'], { cwd: root });
    expectOneLineError(result, /^chaussette: error: dist\/server\/entry\.mjs is an Astro build \(astro \(version unknown: not installed beside the build\), @astrojs\/node \(version unknown/);
    expect(existsSync(join(root, 'dist/server/imported'))).toBe(false);
  });
});
