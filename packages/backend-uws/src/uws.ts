import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { ChaussetteError, errorMessage } from '@chaussette/core';
import type * as UWS from 'uWebSockets.js';
import { adaptToOlderGlibc, C23_FUNCTIONS, needsNewerGlibc, runningGlibc } from './glibc-compat.js';

export type Uws = typeof UWS;

const require = createRequire(import.meta.url);

export interface LoadedUws {
  uws: Uws;
  /** `uWebSockets.js 20.57.0 (@btc-vision/uwebsockets.js)`, and how its binary was adapted, for the start-up line. */
  version: string;
  /** The engine's version, e.g. `20.57.0`. */
  release: string;
  /**
   * 20.57 or later, the build chaussette is checked against (its limits, its framing); an older one is
   * taken to behave as 20.30, the one before.
   */
  current: boolean;
  /** Said at start-up when the engine is older than the one chaussette is checked against. */
  warning?: string;
}

/**
 * Which uWebSockets.js to load: a package name or path, resolved from this package. The default is the
 * build this package depends on, under the name `uWebSockets.js` (an npm override can put the official
 * GitHub build there); tests set it to load another build.
 */
const ENGINE = process.env.CHAUSSETTE_UWS_MODULE || 'uWebSockets.js';
// The build the conformance kit, h1spec and the framing suite are run against (SECURITY.md).
const CHECKED_MINOR = 57;

let loaded: LoadedUws | undefined;

/**
 * uWebSockets.js, refusing its pure-JS imitation: the republished builds fall back to one, with a
 * warning on the console, when its native binary does not load (another Node ABI, another libc). On a
 * glibc older than 2.38 a current binary is loaded as adapted by glibc-compat.ts.
 */
export function loadUws(): LoadedUws {
  if (loaded) return loaded;
  const manifest = engineManifest();
  let version = `uWebSockets.js ${manifest.version ?? '(unknown version)'}${manifest.name && manifest.name !== 'uWebSockets.js' ? ` (${manifest.name})` : ''}`;
  let uws: Uws;
  try {
    uws = silently(() => require(ENGINE) as Uws);
  } catch (error) {
    if (!needsNewerGlibc(error) || !manifest.directory) {
      throw new ChaussetteError(`uWebSockets.js does not load: ${errorMessage(error)}. Reinstall @chaussette/backend-uws`, { cause: error });
    }
    uws = loadAdapted(manifest.directory, version, error);
    const functions = [...C23_FUNCTIONS].map(([c23, c99]) => `${c23} as ${c99}`).join(', ');
    version += `, its binary adapted to glibc ${runningGlibc() ?? '< 2.38'} (${functions})`;
  }
  if (!isNative(uws)) {
    throw new ChaussetteError(
      `${version} could not load its native binary for Node ${process.version} (ABI ${process.versions.modules}, ${process.platform}-${process.arch}) and fell back to a slow JavaScript imitation, which chaussette does not serve. ` +
        'Use a Node.js version that build ships a binary for, install the official uWebSockets.js build (see the @chaussette/backend-uws README), or pick --backend node',
    );
  }
  const release = manifest.version ?? '0';
  const [major = 0, minor = 0] = release.split('.').map(Number);
  const current = major > 20 || (major === 20 && minor >= CHECKED_MINOR);
  loaded = { uws, version, release, current, warning: current ? undefined : olderEngineWarning(manifest.version ?? '(unknown version)') };
  return loaded;
}

/** The adapted copy of the binary is loaded from a private directory, removed once loaded (the mapping stays). */
function loadAdapted(directory: string, version: string, original: unknown): Uws {
  const binary = join(directory, `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
  let adapted: Buffer;
  try {
    adapted = adaptToOlderGlibc(binary);
  } catch (error) {
    throw new ChaussetteError(`${version} needs glibc 2.38 (this is ${runningGlibc() ?? 'another libc'}) and could not be adapted: ${errorMessage(error)}. Use --backend node, or a system with glibc 2.38 or later`, {
      cause: original,
    });
  }
  const scratch = mkdtempSync(join(tmpdir(), 'chaussette-uws-'));
  try {
    const path = join(scratch, basename(binary));
    writeFileSync(path, adapted, { mode: 0o500 });
    return require(path) as Uws;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function olderEngineWarning(release: string): string {
  return (
    `uWebSockets.js ${release} is older than 20.${CHECKED_MINOR}, the build chaussette checks its HTTP framing against. ` +
    'uWebSockets.js 20.30 takes any Transfer-Encoding for chunked, does not check chunk syntax, misreads chunk extensions and trailers, and closes malformed requests without an answer (SECURITY.md); ' +
    'keep a reverse proxy in front that re-frames request bodies, or use the build @chaussette/backend-uws depends on'
  );
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

/** The package that answers to ENGINE: the official build, a republished one (npm alias), or another build. */
function engineManifest(): { name?: string; version?: string; directory?: string } {
  try {
    const main = require.resolve(ENGINE);
    for (let directory = dirname(main); directory !== dirname(directory); directory = dirname(directory)) {
      try {
        return { ...(require(join(directory, 'package.json')) as { name?: string; version?: string }), directory };
      } catch {
        continue;
      }
    }
  } catch {
    // the require() that follows says why
  }
  return {};
}
