import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

// process.versions.modules of each Node.js release line, to name the versions a build has binaries for.
const NODE_MAJOR_BY_ABI: ReadonlyMap<number, number> = new Map([
  [93, 16],
  [108, 18],
  [115, 20],
  [127, 22],
  [131, 23],
  [137, 24],
  [141, 25],
  [147, 26],
]);
const BINARY_NAME = /^uws_(\w+)_(\w+)_(\d+)\.node$/;

/**
 * Why uWebSockets.js cannot run on this Node.js, without loading it: the installed build ships binaries
 * for this platform, none for this Node's ABI. Undefined when it has one (or when its binaries cannot be
 * listed: loading it then says what is wrong). `engine` is a package name or path, as CHAUSSETTE_UWS_MODULE.
 */
export function uwsUnavailableReason(engine = ENGINE): string | undefined {
  const manifest = engineManifest(engine);
  if (!manifest.directory) return undefined;
  const abis = binaryAbis(manifest.directory);
  if (abis.length === 0 || abis.includes(Number(process.versions.modules))) return undefined;
  const nodes = abis.map((abi) => (NODE_MAJOR_BY_ABI.has(abi) ? `${NODE_MAJOR_BY_ABI.get(abi)}` : `ABI ${abi}`));
  const listed = nodes.length === 1 ? nodes[0] : `${nodes.slice(0, -1).join(', ')} and ${nodes.at(-1)}`;
  return (
    `${describeEngine(manifest)} has no binary for Node.js ${process.version} (ABI ${process.versions.modules}, ${process.platform}-${process.arch}): ` +
    `it has binaries for Node.js ${listed} only. Use one of those Node.js versions, or --backend node or --backend fastify`
  );
}

/** The ABIs the build in `directory` has binaries for on this platform and architecture, in order; its binaries may be in a subdirectory. */
function binaryAbis(directory: string): number[] {
  const abis = new Set<number>();
  const visit = (folder: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const binary = BINARY_NAME.exec(entry.name);
      if (binary && binary[1] === process.platform && binary[2] === process.arch) abis.add(Number(binary[3]));
      else if (entry.isDirectory() && depth > 0 && entry.name !== 'node_modules') visit(join(folder, entry.name), depth - 1);
    }
  };
  visit(directory, 1);
  return [...abis].sort((a, b) => a - b);
}

/**
 * uWebSockets.js, refusing its pure-JS imitation: the republished builds fall back to one, with a
 * warning on the console, when its native binary does not load (another Node ABI, another libc). On a
 * glibc older than 2.38 a current binary is loaded as adapted by glibc-compat.ts.
 */
export function loadUws(): LoadedUws {
  if (loaded) return loaded;
  const unavailable = uwsUnavailableReason();
  if (unavailable) throw new ChaussetteError(unavailable);
  const manifest = engineManifest(ENGINE);
  let version = describeEngine(manifest);
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

interface EngineManifest {
  name?: string;
  version?: string;
  directory?: string;
}

/** `uWebSockets.js 20.57.0 (@btc-vision/uwebsockets.js)`: the version, and the package name when it is another. */
function describeEngine(manifest: EngineManifest): string {
  return `uWebSockets.js ${manifest.version ?? '(unknown version)'}${manifest.name && manifest.name !== 'uWebSockets.js' ? ` (${manifest.name})` : ''}`;
}

/** The package that answers to `engine`: the official build, a republished one (npm alias), or another build. */
function engineManifest(engine: string): EngineManifest {
  try {
    const main = require.resolve(engine);
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
