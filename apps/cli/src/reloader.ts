// --use-reloader: this process holds the listening sockets and runs the server in a child process; on
// a change to the app's files (watch.ts says which) it starts a new child, waits until it serves, then
// stops the old one gracefully. The sockets never close, so no connection is refused during a reload.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';
import { ChaussetteError, type ListenTarget, listenError, type OwnedSocketFile, ownSocketFile, removeStaleUnixSocket } from '@chaussette/core';
import type { Logger } from 'pino';
import { type BoundHandle, bindWithoutListening, boundPort } from './node-internals.js';
import { type CliOptions, type ConfigValue, type ConfigValues, configKeyOf, OPTION_ENTRIES, OPTIONS } from './option-table.js';
import { AppWatcher, type ReloadScope, reloadScope } from './watch.js';

const CLI = fileURLToPath(new URL('../bin/chaussette.js', import.meta.url));
const DEBOUNCE_MS = 200;
const RELOAD_OPTIONS = ['reloadDirs', 'reloadIncludes', 'reloadExcludes'] as const;

/** --reload-dir, --reload-include and --reload-exclude say what the reloader watches: without it they cannot apply. */
export function refuseReloadOptionsWithoutReloader(options: CliOptions): void {
  if (options.useReloader) return;
  const given = RELOAD_OPTIONS.filter((name) => options[name].length > 0).map((name) => `--${OPTIONS[name].flag}`);
  if (given.length === 0) return;
  const one = given.length === 1;
  throw new ChaussetteError(`${given.join(', ')} ${one ? 'applies' : 'apply'} only with --use-reloader (what it watches): add --use-reloader, or drop ${one ? 'it' : 'them'}`);
}

interface HeldSocket {
  fd: number;
  /** A TCP socket's port. */
  port?: number;
  close(): Promise<void>;
}

/** Serves through child processes, a new one on each change to the app's files, until SIGTERM or SIGINT; resolves with the exit code. */
export async function runWithReloader(options: CliOptions, targets: readonly ListenTarget[], cwd: string, logger: Logger): Promise<number> {
  const scope = reloadScope(options, cwd);
  const sockets: HeldSocket[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'chaussette-reloader-'));
  // From the start: a stop while the first child loads must stop it too, not leave it serving alone.
  let stopped = false;
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  }).finally(() => (stopped = true));
  // What chaussette itself writes next to the app must not trigger a reload.
  const ownFiles = new Set(
    [options.logOutput, options.accessLog, ...targets.map((target) => (target.type === 'unix' ? target.path : undefined))]
      .filter((file): file is string => file !== undefined && file !== '-')
      .map((file) => resolve(cwd, file)),
  );
  let reload: ((file: string) => Promise<void>) | undefined; // once the first server started (or failed to)
  let reloading: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const watcher = new AppWatcher(scope, ownFiles, (file) => {
    const reloadFor = reload;
    if (!reloadFor) return;
    // Debounced: an editor's save is often several events; the last one names the file.
    clearTimeout(timer);
    timer = setTimeout(() => {
      reloading = (reloading ?? Promise.resolve()).then(() => reloadFor(file));
    }, DEBOUNCE_MS);
  });
  try {
    // Port 0 on several addresses (`localhost`: 127.0.0.1 and ::1) is one port on all of them where it can be, as without the reloader.
    let freePort: number | undefined;
    for (const target of targets) {
      const socket = await holdSocket(target, options.socketMode, logger, freePort);
      if (target.type === 'tcp' && target.port === 0) freePort ??= socket.port;
      sockets.push(socket);
    }
    await makeListening(sockets.map((socket) => socket.fd), options.backlog);
    // The child gets the resolved options (minus where to listen) from a config file, and the sockets as fds.
    const config = join(scratch, 'options.json');
    writeFileSync(config, JSON.stringify(childConfig(options)));
    const args = ['--config', config, ...sockets.flatMap((_, index) => ['--bind', `fd://${3 + index}`])];
    const supervisor = new Supervisor(args, sockets.map((socket) => socket.fd), logger, (files) => watcher.addLoaded(files));
    // The sources there as a server starts are those it may run; the app's files written later are not.
    const start = async () => {
      watcher.rescan();
      const started = await supervisor.start();
      watcher.reloadOnNewSources = !started;
      return started;
    };

    let child = await Promise.race([start(), stopSignal.then(() => undefined)]);
    if (!child && !stopped) logger.warn('The app did not start; waiting for a change to its files');
    reload = async (file: string) => {
      logger.info(`${shown(file, cwd)} changed: reloading`);
      const next = await start();
      if (!next) {
        logger.warn(child ? 'The new version did not start: still serving the previous one' : 'The app did not start; waiting for a change to its files');
        return;
      }
      const previous = child;
      child = next;
      if (previous) await supervisor.stop(previous);
    };
    logger.info(describeWatched(scope, cwd));
    // SIGHUP (a certificate renewed): the serving children read their certificates again.
    const passHangup = () => supervisor.signalAll('SIGHUP');
    process.on('SIGHUP', passHangup);

    const signal = await stopSignal;
    logger.info(`${signal} received: stopping the server`);
    supervisor.stopping = true;
    watcher.close();
    clearTimeout(timer);
    await reloading;
    process.off('SIGHUP', passHangup);
    await supervisor.stopAll();
    return 0;
  } finally {
    watcher.close();
    await Promise.all(sockets.map((socket) => socket.close()));
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** `Reloader watching …`: what a change to reloads the app. */
function describeWatched({ roots, includes, excludes }: ReloadScope, cwd: string): string {
  const under = roots.map((root) => shown(root, cwd) || '.').join(', ');
  const except = excludes.length > 0 ? `; not ${excludes.join(', ')}` : '';
  return `Reloader watching the modules the app loaded and ${includes.join(', ')} under ${under} (node_modules and dot-directories ignored${except})`;
}

/** A path as the user would type it from here: relative when under the current directory. */
function shown(path: string, cwd: string): string {
  const rest = relative(cwd, path);
  return rest.startsWith('..') || isAbsolute(rest) ? path : rest;
}

/** The resolved options, as the child's config file: each option as the table says it goes to the child. */
function childConfig(options: CliOptions): ConfigValues {
  const config: Record<string, ConfigValue> = {};
  for (const [name, option] of OPTION_ENTRIES) {
    const key = configKeyOf(name, option);
    if (key === undefined || option.child === false) continue;
    const value = option.limit === undefined ? options[name as keyof CliOptions] : options.limits[option.limit];
    if (value === undefined) continue;
    const given = option.child ? (option.child as ChildValue)(value, options) : typeof value === 'number' ? String(value) : (value as ConfigValue);
    if (given !== undefined) config[key] = given;
  }
  return config as ConfigValues;
}

type ChildValue = (value: unknown, options: CliOptions) => ConfigValue | undefined;

/**
 * A socket bound by this process but never listened on through its event loop, so this process never
 * accepts. Port 0 asked, `freePort` is tried first (taken there: any free port).
 */
async function holdSocket(target: ListenTarget, socketMode: number | undefined, logger: Logger, freePort: number | undefined): Promise<HeldSocket> {
  if (target.type === 'fd') return { fd: target.fd, close: async () => {} };
  let owned: OwnedSocketFile | undefined;
  if (target.type === 'unix' && (await removeStaleUnixSocket(target.path))) logger.info(`Removed stale socket file ${target.path}`);
  let handle: BoundHandle | number | undefined;
  if (target.type === 'tcp' && target.port === 0 && freePort !== undefined) handle = bindWithoutListening(target.host, freePort);
  if (handle === undefined || (typeof handle === 'number' && getSystemErrorName(handle) === 'EADDRINUSE')) {
    handle = target.type === 'tcp' ? bindWithoutListening(target.host, target.port) : bindWithoutListening(target.path, -1);
  }
  if (handle === undefined) throw new ChaussetteError('--use-reloader needs node:net internals this Node.js lacks: run without it');
  if (typeof handle === 'number') {
    const code = getSystemErrorName(handle);
    throw listenError(Object.assign(new Error(code), { code }), target);
  }
  if (target.type === 'unix') owned = await ownSocketFile(target.path, socketMode);
  const bound = handle;
  return {
    fd: bound.fd,
    port: target.type === 'tcp' ? boundPort(bound) : undefined,
    close: async () => {
      bound.close();
      await owned?.remove();
    },
  };
}

/** listen(2) on the bound sockets, from a short-lived process, so that connections queue from now on. */
async function makeListening(fds: number[], backlog: number): Promise<void> {
  const script = `const net = require('node:net'); let left = ${fds.length};
for (let fd = 3; fd < ${3 + fds.length}; fd++) net.createServer().listen({ fd, backlog: ${backlog} }, () => { if (--left === 0) process.exit(0); });`;
  const helper = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'inherit', ...fds] });
  const code = await new Promise<number | null>((resolve) => helper.once('exit', (exitCode) => resolve(exitCode)));
  if (code !== 0) throw new ChaussetteError('--use-reloader could not make its sockets listen');
}

/** Starts and stops the serving children. */
class Supervisor {
  /** Shutting down: children exiting are expected. */
  stopping = false;
  readonly children = new Set<ChildProcess>();

  constructor(
    private readonly args: string[],
    private readonly fds: number[],
    private readonly logger: Logger,
    /** The files a child reports it loaded (loaded-files.ts). */
    private readonly onLoaded: (files: readonly string[]) => void,
  ) {}

  /** A new child, once it serves; undefined if it exited first (an error in the app, already printed). */
  start(): Promise<ChildProcess | undefined> {
    // A process group of its own: a Ctrl+C in the terminal reaches this process only, which stops the
    // child once (a second signal would make it exit without finishing its requests).
    const child = spawn(process.execPath, [CLI, ...this.args], {
      stdio: ['ignore', 'inherit', 'inherit', ...this.fds, 'ipc'],
      detached: true,
      env: { ...process.env, CHAUSSETTE_RELOADER_CHILD: '1' },
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    child.on('message', (message: { chaussette?: string; files?: unknown }) => {
      if (message?.chaussette === 'loaded' && Array.isArray(message.files)) this.onLoaded(message.files.filter((file) => typeof file === 'string'));
    });
    return new Promise((resolve) => {
      const onExit = () => resolve(undefined);
      child.once('exit', onExit);
      child.on('message', (message: { chaussette?: string }) => {
        if (message?.chaussette !== 'serving') return;
        child.off('exit', onExit);
        child.once('exit', (code, signal) => {
          if (!child.killed && !this.stopping) this.logger.warn(`The server exited (${signal ?? `code ${code}`}); waiting for a change to the app's files`);
        });
        resolve(child);
      });
    });
  }

  signalAll(signal: NodeJS.Signals): void {
    for (const child of this.children) child.kill(signal);
  }

  /** Every child still running, stopped gracefully. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.children].map((child) => this.stop(child)));
  }

  /** Graceful: the child finishes its requests in flight. */
  async stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}
