import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ChaussetteError, errorMessage } from '@chaussette/core';
import type * as UWS from 'uWebSockets.js';

export type Uws = typeof UWS;

const require = createRequire(import.meta.url);

export interface LoadedUws {
  uws: Uws;
  /** `uWebSockets.js 20.30.0 (@trufflesuite/uws-js-unofficial)`, for the start-up line. */
  version: string;
}

let loaded: LoadedUws | undefined;

/**
 * uWebSockets.js, refusing its pure-JS imitation: the republished build falls back to one, with a
 * warning on the console, when its native binary does not load (another Node ABI, another libc).
 */
export function loadUws(): LoadedUws {
  if (loaded) return loaded;
  let uws: Uws;
  try {
    uws = silently(() => require('uWebSockets.js') as Uws);
  } catch (error) {
    throw new ChaussetteError(`uWebSockets.js does not load: ${errorMessage(error)}. Reinstall @chaussette/backend-uws`, { cause: error });
  }
  const version = describeVersion();
  if (!isNative(uws)) {
    throw new ChaussetteError(
      `${version} could not load its native binary for Node ${process.version} (ABI ${process.versions.modules}, ${process.platform}-${process.arch}) and fell back to a slow JavaScript imitation, which chaussette does not serve. ` +
        'Use a Node.js version that build ships a binary for, install the official uWebSockets.js build (see the @chaussette/backend-uws README), or pick --backend node',
    );
  }
  loaded = { uws, version };
  return loaded;
}

function isNative(uws: Uws): boolean {
  return typeof uws.App === 'function' && Function.prototype.toString.call(uws.App).includes('[native code]');
}

/** The fallback announces itself with console.log/console.warn; chaussette says it in one line instead. */
function silently<T>(load: () => T): T {
  const { log, warn } = console;
  console.log = console.warn = () => {};
  try {
    return load();
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

function describeVersion(): string {
  try {
    // The package that answers to `uWebSockets.js`: the official build or a republished one (npm alias).
    const main = require.resolve('uWebSockets.js');
    for (let directory = dirname(main); directory !== dirname(directory); directory = dirname(directory)) {
      let manifest: { name?: string; version?: string };
      try {
        manifest = require(join(directory, 'package.json')) as { name?: string; version?: string };
      } catch {
        continue;
      }
      const build = manifest.name && manifest.name !== 'uWebSockets.js' ? ` (${manifest.name})` : '';
      return `uWebSockets.js ${manifest.version ?? '(unknown version)'}${build}`;
    }
  } catch {
    // fall through
  }
  return 'uWebSockets.js';
}
