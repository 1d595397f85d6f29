import type { App, Backend } from './backend.js';
import { type AppInterface, describeValue, toApp } from './detect-app.js';
import { ChaussetteError, errorMessage } from './errors.js';
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
}

/**
 * Loads an app from `path-or-package[:export]`, resolved from `cwd` like uvicorn's `module:attr`,
 * ESM or CommonJS, and recognises its kind.
 */
export async function loadApp(specifier: string, options: LoadAppOptions): Promise<App> {
  const { module, exportPath } = parseExportSpecifier(specifier);
  const label = `${module}:${exportPath.join('.')}`;
  let value = unwrapTranspiledDefault(await loadExport(specifier, options.cwd));
  if (options.factory) {
    if (typeof value !== 'function') {
      throw new ChaussetteError(`--factory: ${label} is ${describeValue(value)}, not a function that returns an app`);
    }
    try {
      value = await (value as (...args: string[]) => unknown)(...(options.args ?? []));
    } catch (error) {
      throw new ChaussetteError(`--factory: calling ${label} failed: ${errorMessage(error)}`, { cause: error });
    }
  } else if (isPromise(value)) {
    value = await value;
  }
  return detectApp(unwrapTranspiledDefault(value), options.factory ? `what ${label} returned` : label, options);
}

/** Recognises an app value already in hand (e.g. the built-in app). */
export function detectApp(value: unknown, label: string, options: Pick<LoadAppOptions, 'interface' | 'backend'> = {}): App {
  return options.backend?.recognize?.(value) ?? toApp(value, label, options.interface);
}

// A transpiled ES module loaded as CommonJS arrives as { __esModule: true, default: app }.
function unwrapTranspiledDefault(value: unknown): unknown {
  const object = value as { __esModule?: unknown; default?: unknown } | null;
  return object && typeof object === 'object' && object.__esModule === true && 'default' in object ? object.default : value;
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
