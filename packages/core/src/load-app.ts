import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ListenOptions } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import type { App, Backend } from './backend.js';
import { type AppInterface, describeValue, EXPORT_THE_APP, isBareFunction, isPromiseOfApp, toApp } from './detect-app.js';
import { ChaussetteError, errorMessage, isChaussetteError } from './errors.js';
import { recognizeBuild } from './frameworks/index.js';
import { nestModuleApp } from './frameworks/nest.js';
import { installFastResponse } from './fast-response.js';
import { acceptLazyRequests } from './lazy-request.js';
import { formatAddress } from './listen-target.js';
import { loadExport, parseExportSpecifier } from './load-module.js';

export interface LoadAppOptions {
  /** Where relative paths and packages resolve from. */
  cwd: string;
  /** The export is a factory: call it (and await it) with `args`; it returns the app. */
  factory?: boolean;
  args?: readonly string[];
  interface?: AppInterface;
  /** The backend that will serve the app, given first look at the export (see Backend.recognize). */
  backend?: Pick<Backend, 'recognize'>;
  /**
   * The other backends there are (the CLI: the installed ones), asked to recognise a bare function
   * that the chosen backend did not claim: a framework's plugin is no (req, res) listener.
   */
  otherBackends?: () => Promise<readonly Pick<Backend, 'recognize'>[]>;
}

/**
 * Loads an app from `path-or-package[:export]`, resolved from `cwd` like uvicorn's `module:attr`,
 * ESM or CommonJS, and recognises its kind.
 */
export async function loadApp(specifier: string, options: LoadAppOptions): Promise<App> {
  acceptLazyRequests();
  // Before the import: a class the app derives from Response there derives from the one it is served with.
  installFastResponse();
  const { module, exportPath } = parseExportSpecifier(specifier);
  const label = `${module}:${exportPath.join('.')}`;
  // A framework's build is named by its directory or a file of it. With an export too, the file may
  // be one that listens when imported (SvelteKit's build/index.js): the build is served all the same.
  const build = options.factory ? undefined : recognizeBuild(resolvePath(options.cwd, module), options.cwd);
  if (build) {
    const app = await build.load();
    if (module === specifier) return app;
    return Object.assign(app, { notes: [...(app.notes ?? []), `${specifier}: chaussette serves ${build.description} itself, whatever the export; name the build alone (chaussette ${module})`] });
  }
  const listenCalls = watchListenCalls();
  try {
    const exported = await settles(loadExport(specifier, options.cwd), `Importing ${module} never finished: a top-level await in it (or in a module it imports) waits`);
    return await recognizeExport(exported.value, label, options);
  } catch (error) {
    throw withListenCalls(error, module, listenCalls.seen);
  } finally {
    listenCalls.stop();
  }
}

/** The app in what the module exported: called first with --factory, then recognised. */
async function recognizeExport(exported: unknown, label: string, options: LoadAppOptions): Promise<App> {
  let value = unwrapTranspiledDefault(exported);
  if (options.factory) {
    if (typeof value !== 'function') {
      throw new ChaussetteError(`--factory: ${label} is ${describeValue(value)}, not a function that returns an app`);
    }
    try {
      const made = (value as (...args: string[]) => unknown)(...(options.args ?? []));
      value = isPromiseOfApp(made) ? await settles(made, 'the promise it returned never settled: it waits') : made;
    } catch (error) {
      throw new ChaussetteError(`--factory: calling ${label} failed: ${errorMessage(error)}`, { cause: error });
    }
  } else if (isPromiseOfApp(value)) {
    value = await settles(value, `${label} is a promise that never settled: it waits`);
  }
  value = unwrapTranspiledDefault(value);
  const nest = await nestModuleApp(value, label, options.cwd);
  if (nest) return nest;
  const where = options.factory ? `what ${label} returned` : label;
  const claimed = options.backend?.recognize?.(value, true);
  if (claimed || !options.otherBackends || (options.interface ?? 'auto') !== 'auto' || !isBareFunction(value)) {
    return claimed ?? toApp(value, where, options.interface);
  }
  for (const other of await options.otherBackends()) {
    const app = other.recognize?.(value, false);
    if (app) return app;
  }
  return toApp(value, where, options.interface);
}

// Published by net.Server#listen() (node:http's, Express's app.listen()…) when it is called.
const LISTEN_CHANNEL = 'tracing:net.server.listen:asyncStart';

/** Notes where the servers started while an app loads listen (`:3000`, `localhost:3000`, `unix:/tmp/app.sock`), until stop(). */
function watchListenCalls(): { seen: string[]; stop(): void } {
  const seen: string[] = [];
  const onListen = (message: unknown) => seen.push(describeListenCall((message as { options?: ListenOptions }).options));
  subscribe(LISTEN_CHANNEL, onListen);
  return { seen, stop: () => unsubscribe(LISTEN_CHANNEL, onListen) };
}

function describeListenCall(options: ListenOptions | undefined): string {
  if (options?.path !== undefined) return `unix:${options.path}`;
  if (options?.port === undefined) return 'a socket it was given';
  return options.host ? formatAddress({ type: 'tcp', host: options.host, port: Number(options.port) }) : `:${options.port}`;
}

/**
 * An app that would not load, from a module that started a server of its own (an Express file written
 * for `node app.js`): the message says so, and what to do instead.
 */
function withListenCalls(error: unknown, module: string, listenCalls: readonly string[]): unknown {
  if (listenCalls.length === 0 || !isChaussetteError(error) || error.message.includes('listen()')) return error;
  const exportHint = error.message.includes(EXPORT_THE_APP) ? '' : ` and ${EXPORT_THE_APP}`;
  return new ChaussetteError(
    `${error.message}. ${module} called listen() itself (on ${listenCalls.join(', ')}): chaussette binds the sockets, so remove that call${exportHint}`,
    { cause: error },
  );
}

/** Recognises an app value already in hand (e.g. the built-in app). */
export function detectApp(value: unknown, label: string, options: Pick<LoadAppOptions, 'interface' | 'backend'> = {}): App {
  return options.backend?.recognize?.(value, true) ?? toApp(value, label, options.interface);
}

// A transpiled ES module loaded as CommonJS arrives as { __esModule: true, default: app }.
function unwrapTranspiledDefault(value: unknown): unknown {
  const object = value as { __esModule?: unknown; default?: unknown } | null;
  return object && typeof object === 'object' && object.__esModule === true && 'default' in object ? object.default : value;
}

/**
 * `promise`, or one line (`waits` for…) once nothing is left to run that could settle it: Node would
 * exit 13 with only a warning about an unsettled top-level await.
 */
function settles<T>(promise: PromiseLike<T>, waits: string): Promise<T> {
  let stuck!: () => void;
  const never = new Promise<never>((_, reject) => {
    stuck = () => reject(new ChaussetteError(`${waits} for something that nothing left to run will do`));
  });
  process.once('beforeExit', stuck);
  return Promise.race([promise, never]).finally(() => process.off('beforeExit', stuck));
}
