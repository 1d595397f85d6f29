import { existsSync, lstatSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { CLI, FIXTURES, get, killAll, runCli, startCli } from './helpers.js';

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'chaussette-cli-'));
});
afterEach(() => {
  killAll();
  rmSync(directory, { recursive: true, force: true });
});

describe('command-line options', () => {
  test('--help and --version print and exit 0', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: chaussette \[options\] \[application\] \[arguments\.\.\.\]/);
    for (const option of ['--host', '--port', '--fd', '--backlog', '--backend', '--graceful-timeout', '--pre-hook', '--post-hook', '--log-level', '--log-output', '--factory']) {
      expect(help.stdout).toContain(option);
    }
    const version = await runCli(['--version']);
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(version).toMatchObject({ code: 0, stdout: `chaussette ${manifest.version}\n` });
  });

  test('--bind unix:/path with --socket-mode: serves there, sets the mode, removes the file on exit', async () => {
    const path = join(directory, 'web.sock');
    const cli = await startCli(['--bind', `unix:${path}`, '--socket-mode', '600']);
    expect(cli.addresses).toEqual([`unix:${path}`]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect((await get(`unix:${path}`)).body).toBe('Hello world!\n');
    expect(await cli.stop()).toBe(0);
    expect(existsSync(path)).toBe(false);
  });

  test("Chaussette's --host unix:///path form works too", async () => {
    const path = join(directory, 'legacy.sock');
    const cli = await startCli(['--host', `unix://${path}`]);
    expect(cli.addresses).toEqual([`unix:${path}`]);
  });

  test('a stale socket file left by a killed server is replaced', async () => {
    const path = join(directory, 'stale.sock');
    const dead = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await once(dead.stdout!, 'data');
    dead.kill('SIGKILL');
    await once(dead, 'exit');
    expect(statSync(path).isSocket()).toBe(true);
    const cli = await startCli(['--bind', `unix:${path}`]);
    expect(cli.output()).toContain(`Removed stale socket file ${path}`);
    expect((await get(`unix:${path}`)).status).toBe(200);
  });

  test('a live socket, a regular file or a symlink at the unix path is left alone', async () => {
    const live = join(directory, 'live.sock');
    const server = createServer().listen(live);
    await once(server, 'listening');
    try {
      const result = await runCli(['--bind', `unix:${live}`]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('is in use: another server is listening on it');
    } finally {
      server.close();
    }
    const file = join(directory, 'data.txt');
    writeFileSync(file, 'precious');
    const onFile = await runCli(['--bind', `unix:${file}`]);
    expect(onFile.stderr).toContain('exists and is not a socket; chaussette will not delete it');
    expect(readFileSync(file, 'utf8')).toBe('precious');
    const link = join(directory, 'link.sock');
    symlinkSync(live, link);
    const onLink = await runCli(['--bind', `unix:${link}`]);
    expect(onLink.stderr).toContain('is a symbolic link; chaussette does not follow links for its socket');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  test('--log-output FILE with --log-format json appends JSON lines', async () => {
    const log = join(directory, 'chaussette.log');
    const cli = await startCli(['--port', '0', '--log-output', log, '--log-format', 'json'], { logFile: log });
    expect(await cli.stop()).toBe(0);
    const records = readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { msg: string; level: number; pid: number });
    expect(records.map((record) => record.msg)).toEqual(
      expect.arrayContaining(['Application is the built-in hello app (fetch handler)', 'Using the node backend', 'Stopped']),
    );
    expect(records.every((record) => record.pid === cli.child.pid)).toBe(true);
  });

  test('SIGUSR1 reopens the --log-output file, as logrotate needs after moving it', async () => {
    const log = join(directory, 'rotated.log');
    const cli = await startCli(['--port', '0', '--log-output', log], { logFile: log });
    renameSync(log, `${log}.1`);
    cli.child.kill('SIGUSR1');
    for (let attempt = 0; attempt < 100 && !existsSync(log); attempt++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await cli.stop()).toBe(0);
    expect(readFileSync(`${log}.1`, 'utf8')).toContain('Serving on');
    const fresh = readFileSync(log, 'utf8');
    expect(fresh).toContain('SIGTERM received');
    expect(fresh).toContain('Stopped');
    expect(fresh).not.toContain('Serving on');
  });

  test('--log-level warning keeps the info lines out, but not the errors', async () => {
    const log = join(directory, 'quiet.log');
    const path = join(directory, 'quiet.sock');
    const child = spawn(process.execPath, [CLI, 'fetch-handler.mjs', '--bind', `unix:${path}`, '--log-level', 'warning', '--log-output', log], {
      cwd: FIXTURES,
      stdio: 'ignore',
    });
    try {
      while (!existsSync(path)) await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await get(`unix:${path}`, '/boom')).status).toBe(500);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await once(child, 'exit')).toEqual([0, null]);
    const text = readFileSync(log, 'utf8');
    expect(text).toContain('[ERROR] Error in the app while handling GET /boom');
    expect(text).not.toContain('[INFO]');
  });

  test('--pre-hook runs before serving and --post-hook after stopping, with the options', async () => {
    const log = join(directory, 'hooks.log');
    const cli = await startCli(['koa-app.mjs', '--port', '0', '--pre-hook', 'hooks.mjs:pre', '--post-hook', 'hooks.mjs:post', '--graceful-timeout', '5'], {
      env: { HOOK_LOG: log },
    });
    expect(readFileSync(log, 'utf8')).toBe('pre koa-app.mjs node\n');
    expect(await cli.stop('SIGINT')).toBe(0);
    expect(readFileSync(log, 'utf8')).toBe('pre koa-app.mjs node\npost 5\n');
  });

  test('a failing --pre-hook stops chaussette before it serves', async () => {
    const result = await runCli(['--port', '0', '--pre-hook', 'hooks.mjs:failing']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('chaussette: error: --pre-hook hooks.mjs:failing failed: migrations failed\n');
  });

  test('a --post-hook that does not load is refused at start, before the app loads, not when the server stops', async () => {
    const result = await runCli(['koa-app.mjs', '--port', '0', '--post-hook', 'hooks.mjs:missing']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^chaussette: error: "hooks\.mjs:missing" has no export "missing".*\n$/);
    expect(result.stdout).not.toContain('Application is');
  });

  test('the CLI file is executable', () => {
    expect(statSync(CLI).mode & 0o111).not.toBe(0);
  });
});
