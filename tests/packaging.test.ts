// The packages as users meet them: packed as tarballs, installed with plain npm into a project outside
// the workspace, and run as the docs say, with `npx @chaussette/cli` (the installed bin). The CLI alone
// brings no Fastify and no uWebSockets.js; each backend, added on its own, serves; and each backend
// installed alone, with core, pulls in its engine and nothing of the other backends.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const PACKAGES = ['packages/core', 'packages/node-http', 'packages/testkit', 'packages/backend-node', 'packages/backend-fastify', 'packages/backend-uws', 'apps/cli'];

// A user's shell has none of the npm_* variables pnpm sets for the test run (npm warns about those it does not know).
const userEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));

let work: string;
let project: string;
const tarballs: Record<string, string> = {};

const npm = (args: string[]) =>
  run('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: project, env: userEnv, maxBuffer: 16 * 1024 * 1024 });

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'chaussette-packaging-'));
  const packed = join(work, 'tarballs');
  mkdirSync(packed);
  // pnpm pack turns workspace: and catalog: ranges into the versions a registry would see.
  for (const directory of PACKAGES) {
    await run('npx', ['-y', 'pnpm@10', 'pack', '--pack-destination', packed], { cwd: join(root, directory) });
  }
  for (const file of readdirSync(packed)) tarballs[file.replace(/^chaussette-(.+)-\d+\.\d+\.\d+.*\.tgz$/, '$1')] = join(packed, file);
  project = join(work, 'my-app');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-app', private: true, type: 'module' }));
  writeFileSync(join(project, 'app.mjs'), "export default { fetch: () => new Response('hello from a user project\\n') };\n");
  await npm(['install', tarballs.core!, tarballs['node-http']!, tarballs['backend-node']!, tarballs.cli!]);
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('installed from tarballs with npm, outside the workspace', () => {
  test('every package packs', () => {
    expect(Object.keys(tarballs).sort()).toEqual(['backend-fastify', 'backend-node', 'backend-uws', 'cli', 'core', 'node-http', 'testkit']);
  });

  test('the CLI alone pulls neither Fastify nor uWebSockets.js, and serves on the node backend', async () => {
    for (const absent of ['fastify', 'uWebSockets.js', '@trufflesuite/uws-js-unofficial', '@chaussette/backend-uws', '@chaussette/backend-fastify']) {
      expect(existsSync(join(project, 'node_modules', absent)), absent).toBe(false);
    }
    expect(await serveOnce([])).toBe('hello from a user project\n');
  }, 60_000);

  test('a Fastify plugin before the Fastify backend is installed: one line naming it, not a listener that answers 500', async () => {
    writeFileSync(join(project, 'plugin.mjs'), "const plugin = async (fastify) => fastify.get('/', async () => 'hi');\nplugin[Symbol.for('skip-override')] = true;\nexport default plugin;\n");
    const result = await run('npx', ['@chaussette/cli', 'plugin.mjs'], { cwd: project, env: userEnv }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1);
    expect(result.stderr).toContain('plugin.mjs is a Fastify plugin, and no installed backend serves one: run `npm install @chaussette/backend-fastify`');
  }, 60_000);

  test.each([
    ['uws', '@chaussette/backend-uws'],
    ['fastify', '@chaussette/backend-fastify'],
  ])('--backend %s before it is installed: the exact install command', async (backend, pkg) => {
    const result = await run('npx', ['@chaussette/cli', '--backend', backend, 'app.mjs'], { cwd: project, env: userEnv }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1);
    expect(result.stderr).toContain(`npm install ${pkg}`);
  }, 60_000);

  test.each(['fastify', 'uws'])('after npm install of its tarball, --backend %s serves', async (backend) => {
    await npm(['install', tarballs[`backend-${backend}`]!]);
    expect(await serveOnce(['--backend', backend])).toBe('hello from a user project\n');
  }, 300_000);
});

describe('each backend installed alone with core, outside the workspace', () => {
  // What each one pulls in besides core (its own dependencies: node-http brings ws): its engine and what
  // it shares with its kind, no other backend.
  const backends = [
    { name: 'node', packages: ['node-http', 'backend-node'], pulls: ['@chaussette/node-http'], never: ['fastify', 'uWebSockets.js', '@chaussette/backend-fastify', '@chaussette/backend-uws'] },
    { name: 'fastify', packages: ['node-http', 'backend-fastify'], pulls: ['@chaussette/node-http', 'fastify'], never: ['uWebSockets.js', '@chaussette/backend-node', '@chaussette/backend-uws'] },
    { name: 'uws', packages: ['backend-uws'], pulls: ['koffi', 'uWebSockets.js'], never: ['ws', 'fastify', '@chaussette/node-http', '@chaussette/backend-node', '@chaussette/backend-fastify'] },
  ];

  test.each(backends)('$name: pulls in $pulls and serves through core', async ({ name, packages, pulls, never }) => {
    const alone = join(work, `alone-${name}`);
    mkdirSync(alone);
    writeFileSync(join(alone, 'package.json'), JSON.stringify({ name: `alone-${name}`, private: true, type: 'module' }));
    writeFileSync(join(alone, 'serve.mjs'), SERVE_WITH_CORE);
    const install = (args: string[]) => run('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: alone, env: userEnv, maxBuffer: 16 * 1024 * 1024 });
    await install(['install', tarballs.core!, ...packages.map((pkg) => tarballs[pkg]!)]);
    const { stdout } = await install(['ls', '--all', '--parseable']);
    const installed = new Set(stdout.split('\n').flatMap((line) => (line.includes('node_modules/') ? [line.slice(line.lastIndexOf('node_modules/') + 'node_modules/'.length)] : [])));
    const backendPackage = `@chaussette/backend-${name}`;
    const manifest = JSON.parse(readFileSync(join(alone, 'node_modules', backendPackage, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    const direct = Object.keys(manifest.dependencies ?? {});
    console.log(`${backendPackage} alone pulls in: ${direct.sort().join(', ')} (${installed.size} packages in all)`);
    expect(direct.sort()).toEqual(pulls);
    for (const absent of never) expect(installed.has(absent), absent).toBe(false);
    expect((await run(process.execPath, ['serve.mjs', name], { cwd: alone, env: userEnv })).stdout).toBe('served by core and the backend alone\n');
  }, 300_000);
});

// A fetch app served by core's startServer() on the backend named in argv, fetched once, then closed.
const SERVE_WITH_CORE = `import { detectApp, resolveBackend, startServer } from '@chaussette/core';
const backend = await resolveBackend(process.argv[2], { searchFrom: [process.cwd()] });
const app = detectApp({ fetch: () => new Response('served by core and the backend alone\\n') }, 'app');
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const server = await startServer({ app, backend, targets: [{ type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 }], logger: quiet });
const response = await fetch(\`http://127.0.0.1:\${server.listening[0].bound.port}/\`);
process.stdout.write(await response.text());
await server.close(1000);
`;

/** Starts `npx @chaussette/cli … app.mjs` (the docs' command) on a free port, GETs `/`, stops it with SIGTERM; resolves with the body. */
async function serveOnce(args: string[]): Promise<string> {
  const port = await freePort();
  // In a process group of its own: npx does not pass SIGTERM on to chaussette, so the group gets it.
  const child = spawn('npx', ['@chaussette/cli', ...args, '--port', String(port), '--host', '127.0.0.1', 'app.mjs'], {
    cwd: project,
    env: userEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  try {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => /Using the \S+ backend/.test(output) && resolve());
      child.once('exit', (code) => reject(new Error(`chaussette exited with ${code}:\n${output}`)));
    });
    return await get(port);
  } finally {
    await stop(child, port);
  }
}

/** SIGTERM to npx and chaussette; resolves once chaussette has stopped (its port is free again). */
async function stop(child: ChildProcess, port: number): Promise<void> {
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    return; // the group is gone
  }
  for (let waited = 0; (await isListening(port)) && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(await isListening(port), `chaussette still serves on ${port} after SIGTERM`).toBe(false);
}

function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/' }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}
