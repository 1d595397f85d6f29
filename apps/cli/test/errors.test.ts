import { execFileSync, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { datagramSocketFd } from '@chaussette/testkit';
import { CLI, expectOneLineError, FIXTURES, listeningSocket, runCli, skipUnlessServable } from './helpers.js';

const handleFd = (object: unknown) => (object as { _handle: { fd: number } })._handle.fd;

let busy: Server;
let busyPort: number;
beforeAll(async () => {
  busy = createServer().listen(0, '127.0.0.1');
  await once(busy, 'listening');
  busyPort = (busy.address() as { port: number }).port;
});
afterAll(() => busy.close());

// The system's Node.js where it is older than chaussette supports (Debian 12's is 20). NODE_OPTIONS may
// hold flags that it has not (test-runtimes.mjs adds --use-system-ca).
const olderNodeEnv = { ...process.env, NODE_OPTIONS: '' };
const olderNode = ['/usr/bin/node', '/usr/local/bin/node'].find((path) => {
  try {
    const [major = 0, minor = 0] = execFileSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8', env: olderNodeEnv }).trim().split('.').map(Number);
    return major < 22 || (major === 22 && minor < 12);
  } catch {
    return false;
  }
});

test.skipIf(!olderNode)('a Node.js older than 22.12: one line that says which version it needs', () => {
  const result = spawnSync(olderNode!, [CLI, '--port', '0'], { encoding: 'utf8', timeout: 15_000, env: olderNodeEnv });
  expectOneLineError({ code: result.status, stderr: result.stderr }, /^chaussette: error: this is Node\.js 2[0-2]\.[\d.]+; chaussette needs Node\.js 22\.12 or later \(24 LTS recommended\)$/);
});

/** Each bad input: exit 1, one line on stderr naming the problem and the fix, no stack trace. */
describe('bad input: one clear line, exit 1, no stack trace', () => {
  test.each([
    ['missing app file', ['./missing.js'], 'Cannot find application "./missing.js": no file'],
    ['missing package', ['no-such-package-here'], 'no installed package "no-such-package-here"'],
    ['missing export', ['no-default.mjs'], '"no-default.mjs" has no default export (its exports: api, version); name one after a colon, e.g. no-default.mjs:api'],
    ['missing named export', ['fetch-handler.mjs:nope'], 'has no export "nope" (its exports: api, default, nested)'],
    ['an installed package that exports a class', ['koa'], 'koa:default is the class Application, not an app: export an instance (new Application())'],
    ['export is not an app', ['not-an-app.mjs'], 'not-an-app.mjs:default is a number (42), not an app. Accepted: a node (req, res) listener'],
    ['ambiguous function', ['zero-arity.mjs'], 'declares no parameters. Say it with --interface node'],
    ['app throws on import', ['throws-on-import.mjs'], 'Loading application throws-on-import.mjs failed: DATABASE_URL is not set'],
    ['--factory on a non-function', ['--factory', 'not-an-app.mjs'], '--factory: not-an-app.mjs:default is a number (42), not a function'],
    ['unknown backend', ['--backend', 'nonesuch'], /Unknown backend "nonesuch": .*installed backends: fastify, node, uws.*run `npm install chaussette-backend-nonesuch`/],
    ['non-numeric port', ['--port', 'http'], 'Invalid --port "http" (expected an integer from 0 to 65535)'],
    ['negative port', ['--port', '-1'], 'Invalid --port "-1" (expected an integer from 0 to 65535)'],
    ['negative port in a short option', ['-b', '-1'], 'Invalid --bind "-1" (expected host:port, [ipv6]:port, unix:/path or fd://N)'],
    ['port too large', ['--port', '70000'], 'Invalid --port "70000"'],
    ['--host and --fd together', ['--host', '0.0.0.0', '--fd', '3'], '--fd and --host cannot be used together'],
    ['--fd not open', ['--fd', '99'], '--fd 99: file descriptor 99 is not open in this process'],
    ['unknown option', ['--workers', '4'], 'Unknown option --workers. Run chaussette --help for the options'],
    ['bad bind spec', ['--bind', 'localhost'], 'Invalid --bind "localhost" (expected host:port, [ipv6]:port, unix:/path or fd://N)'],
    ['unresolvable host', ['--host', 'no-such-host.invalid'], 'Cannot resolve --host "no-such-host.invalid"'],
    ['address not on this machine', ['--host', '192.0.2.1', '--port', '0'], 'Cannot listen on 192.0.2.1:0: that address belongs to no interface'],
    ['a size that is not one', ['--limit-request-body', '10 apples'], 'Invalid --limit-request-body "10 apples" (expected a size in bytes, with an optional K, M or G suffix)'],
    ['a header limit too small to serve', ['--limit-request-headers', '100'], 'Invalid --limit-request-headers "100" (expected a size in bytes of at least 1024'],
    ['negative timeout', ['--timeout-headers', '-5'], 'Invalid --timeout-headers "-5" (expected a number of seconds, 0 or more)'],
    ['--uws-chunked-behind-proxy on another backend', ['--backend', 'fastify', '--uws-chunked-behind-proxy'], '--uws-chunked-behind-proxy is for the uws backend, whose engine\'s chunk parser is lax; the fastify backend takes chunked request bodies already: remove the flag'],
    ['a field count that is not one', ['--limit-request-fields', 'many'], 'Invalid --limit-request-fields "many" (expected a whole number, 0 or more)'],
    ['fractional count', ['--limit-concurrency', '2.5'], 'Invalid --limit-concurrency "2.5" (expected a whole number, 0 or more)'],
    ['unknown rejection policy', ['--on-unhandled-rejection', 'ignore'], 'Invalid --on-unhandled-rejection "ignore" (expected one of exit, continue)'],
  ])('%s', async (_name, args, fragment) => {
    expectOneLineError(await runCli(args as string[]), fragment);
  });

  test('a limit uWebSockets.js has built in', async (context) => {
    skipUnlessServable('uws', context);
    expectOneLineError(
      await runCli(['--backend', 'uws', '--port', '0', '--timeout-keep-alive', '12']),
      /The uws backend cannot change --timeout-keep-alive: uWebSockets\.js 20\.\d+\.\d+ has 30 seconds for an idle connection, built in\. Drop --timeout-keep-alive, or use --backend node or fastify$/,
    );
  });

  // Every official backend is installed here (the CLI's dev dependencies); core's tests and the packaging
  // test cover an official one that is missing.
  test('the install command follows the package manager that runs chaussette', async () => {
    const result = await runCli(['--backend', 'nonesuch'], { env: { npm_config_user_agent: 'pnpm/10.0.0 npm/? node/v20.0.0' } });
    expectOneLineError(result, 'run `pnpm add chaussette-backend-nonesuch`');
  });

  test('port already in use', async () => {
    expectOneLineError(
      await runCli(['--port', String(busyPort), '--host', '127.0.0.1']),
      `Cannot listen on 127.0.0.1:${busyPort}: the address is already in use. Stop the other server, or choose another --port`,
    );
  });

  test('--fd that is a file, not a socket', async () => {
    const file = openSync(fileURLToPath(import.meta.url), 'r');
    try {
      const result = await runCli(['--fd', '3'], { stdio: ['ignore', 'pipe', 'pipe', file] });
      expectOneLineError(result, '--fd 3: file descriptor 3 is a regular file, not a socket. The process that starts chaussette must pass it a listening socket as fd 3 (Circus: use_sockets = True');
    } finally {
      closeSync(file);
    }
  });

  test('--socket-mode with only an inherited unix socket: its manager sets the mode', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'chaussette-mode-'));
    const server = createServer().listen(join(directory, 'app.sock'));
    await once(server, 'listening');
    try {
      const result = await runCli(['--fd', '3', '--socket-mode', '660'], { stdio: ['ignore', 'pipe', 'pipe', handleFd(server)] });
      expectOneLineError(result, '--socket-mode sets the mode of a unix socket chaussette binds (--bind unix:/path); an inherited socket keeps the mode its manager gave it');
    } finally {
      server.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  test('--socket-mode with only an inherited TCP socket: TCP has no file mode', async () => {
    const { server, fd } = await listeningSocket();
    try {
      const result = await runCli(['--fd', '3', '--socket-mode', '660'], { stdio: ['ignore', 'pipe', 'pipe', fd] });
      expectOneLineError(result, '--socket-mode sets the file mode of a unix socket, and this server listens on TCP only (fd://3), which has no file mode');
    } finally {
      server.close();
    }
  });

  test('--fd that is a unix socket that is not listening (a pipe from the parent)', async () => {
    const result = await runCli(['--fd', '3'], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    expectOneLineError(result, '--fd 3: file descriptor 3 is a unix stream socket that is not listening');
  });

  test('--fd that is a connected socket, not a listening one', async () => {
    const client = connect(busyPort, '127.0.0.1');
    await once(client, 'connect');
    try {
      const result = await runCli(['--fd', '3'], { stdio: ['ignore', 'pipe', 'pipe', handleFd(client)] });
      expectOneLineError(result, '--fd 3: file descriptor 3 is a TCP socket that is not listening (state ESTABLISHED)');
    } finally {
      client.destroy();
    }
  });

  test('--fd that is a UDP socket', async () => {
    const udp = createSocket('udp4');
    udp.bind(0, '127.0.0.1');
    await once(udp, 'listening');
    try {
      const result = await runCli(['--fd', '3'], { stdio: ['ignore', 'pipe', 'pipe', datagramSocketFd(udp)] });
      expectOneLineError(result, 'is a UDP (datagram) socket; chaussette needs a listening stream socket');
    } finally {
      udp.close();
    }
  });

  // Root may bind any port and write anywhere; these need an unprivileged user.
  const canDropPrivileges = process.getuid?.() === 0 && hasSetpriv();
  const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

  test.skipIf(!canDropPrivileges)('permission denied on a port below 1024', async () => {
    const result = await runCli(['--port', '80', '--host', '127.0.0.1'], { wrapper: asNobody, cwd: FIXTURES });
    expectOneLineError(result, 'Permission denied to listen on 127.0.0.1:80: ports below 1024 need root or CAP_NET_BIND_SERVICE');
  });

  test.skipIf(!canDropPrivileges)('permission denied on a unix socket path', async () => {
    const result = await runCli(['--bind', 'unix:/root/chaussette-test.sock'], { wrapper: asNobody, cwd: FIXTURES });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^chaussette: error: (Cannot check|Permission denied to listen on) unix:\/root\/chaussette-test\.sock/);
  });

  test('--log-level debug adds the stack trace', async () => {
    const result = await runCli(['throws-on-import.mjs', '--log-level', 'debug']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^chaussette: error: Loading application throws-on-import.mjs failed/);
    expect(result.stderr).toMatch(/^\s+at .*throws-on-import\.mjs/m);
  });
});

/**
 * Options that need no app are checked before it loads: one line on stderr and nothing on stdout (no
 * NODE_ENV line, no `Application is …`). NODE_ENV is unset, as a new user's is, for its line to show.
 */
describe('checked before the app loads: nothing printed before the error', () => {
  const sockets = mkdtempSync(join(tmpdir(), 'chaussette-early-'));
  afterAll(() => rmSync(sockets, { recursive: true, force: true }));
  test.for<[string, string[], string]>([
    ['a port out of range', ['--port', '70000'], 'Invalid --port "70000" (expected an integer from 0 to 65535)'],
    ['a port out of range in --bind', ['--bind', '127.0.0.1:65536'], 'Invalid --bind "127.0.0.1:65536" (expected an integer from 0 to 65535)'],
    ['--peercreds with no unix socket', ['--port', '0', '--peercreds'], '--peercreds gives apps the credentials of unix-socket clients, and this server listens on no unix socket: add --bind unix:/path'],
    ['--reuse-port on a unix socket', ['--bind', `unix:${join(sockets, 'a.sock')}`, '--reuse-port'], '--reuse-port applies to the ports chaussette binds itself, not to unix:'],
    ['--access-log in a directory that does not exist', ['--port', '0', '--access-log', '/nonexistent-directory/access.log'], "Cannot open --access-log /nonexistent-directory/access.log: ENOENT: no such file or directory, open '/nonexistent-directory/access.log'. Check the path and its permissions"],
    ['--socket-mode while binding TCP', ['--host', '127.0.0.1', '--port', '0', '--socket-mode', '660'], '--socket-mode sets the file mode of a unix socket, and this server listens on TCP only (127.0.0.1:0), which has no file mode: drop --socket-mode, or bind a unix socket (--bind unix:/path)'],
    ['--forwarded-allow-ips with an entry that is no IP address', ['--port', '0', '--forwarded-allow-ips', '10.0.0.1, notanip'], 'Invalid --forwarded-allow-ips "notanip" (expected IP addresses or networks (10.0.0.0/8) separated by commas, unix for peers on a unix socket, or * for every peer)'],
    ['--forwarded-allow-ips with a bad entry next to *', ['--port', '0', '--forwarded-allow-ips', '*,10.0.0.300'], 'Invalid --forwarded-allow-ips "10.0.0.300"'],
    ['--h2c on a backend without HTTP/2', ['--port', '0', '--backend', 'uws', '--h2c'], 'The uws backend cannot speak HTTP/2 (--h2c). Use --backend fastify or node'],
    ['a limit the backend has built in', ['--port', '0', '--backend', 'uws', '--timeout-keep-alive', '5'], 'The uws backend cannot change --timeout-keep-alive: uWebSockets.js'],
    ['-b without a value', ['-b'], '-b/--bind needs a value, e.g. --bind 0.0.0.0:8000. Run chaussette --help for the options'],
    ['--port without a value', ['--port'], '--port needs a value, e.g. --port 8000'],
    ['-c without a value', ['-c'], '-c/--config needs a value, e.g. --config chaussette.json'],
    ['a value given to a flag that takes none', ['--reuse-port=yes'], '--reuse-port takes no value: give it alone to turn it on'],
  ])('%s', async ([, args, fragment], context) => {
    if (args.includes('uws')) skipUnlessServable('uws', context);
    const result = await runCli(['express-app.cjs', ...args], { env: { NODE_ENV: undefined } });
    expectOneLineError(result, fragment);
    expect(result.stdout).toBe('');
  });

  test('--peercreds on a backend that cannot read them', async (context) => {
    skipUnlessServable('uws', context);
    const result = await runCli(['express-app.cjs', '--backend', 'uws', '--bind', `unix:${join(sockets, 'b.sock')}`, '--peercreds'], { env: { NODE_ENV: undefined } });
    expectOneLineError(result, "The uws backend cannot read a client's peer credentials (--peercreds). Use --backend fastify or node");
    expect(result.stdout).toBe('');
  });
});

function hasSetpriv(): boolean {
  try {
    execFileSync('setpriv', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
