import { readdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import type { Backend } from './backend.js';
import { ChaussetteError } from './errors.js';
import { importModule, resolveModule } from './load-module.js';
import { describeValue } from './detect-app.js';

export interface ResolveBackendOptions {
  /** Directories to resolve packages from, in order (the project's directory, then the CLI's own). */
  searchFrom: readonly string[];
  /** The install command for a missing package, e.g. `npm install`. */
  installCommand?: string;
  /** `--backend` names the tool offers (the CLI: its optional peer backends), named when an unknown one is asked for. */
  offered?: readonly string[];
}

/**
 * Finds a backend by `--backend` value: a name (`node` → @chaussette/backend-node, then
 * chaussette-backend-node), a package name, or a path to a module.
 */
export async function resolveBackend(nameOrPath: string, options: ResolveBackendOptions): Promise<Backend> {
  const isPath = nameOrPath.startsWith('.') || isAbsolute(nameOrPath);
  const candidates = isPath || nameOrPath.includes('/') || nameOrPath.startsWith('chaussette-backend-')
    ? [nameOrPath]
    : [`@chaussette/backend-${nameOrPath}`, `chaussette-backend-${nameOrPath}`];
  for (const candidate of candidates) {
    for (const directory of isPath ? [process.cwd()] : options.searchFrom) {
      let file: string;
      try {
        file = resolveModule(candidate, directory, 'backend');
      } catch {
        continue;
      }
      return asBackend((await importModule(file, `backend ${candidate}`)).default, candidate);
    }
  }
  throw backendNotFound(nameOrPath, candidates, isPath, options);
}

function asBackend(value: unknown, label: string): Backend {
  const backend = value as Partial<Backend> | undefined;
  if (typeof backend?.serve !== 'function' || typeof backend.name !== 'string' || !Array.isArray(backend.appKinds)) {
    throw new ChaussetteError(
      `${label} is not a chaussette backend: its default export is ${describeValue(value)}, expected an object with name, appKinds and serve() (see @chaussette/core's Backend type)`,
    );
  }
  return backend as Backend;
}

function backendNotFound(name: string, candidates: string[], isPath: boolean, options: ResolveBackendOptions): ChaussetteError {
  if (isPath) return new ChaussetteError(`Cannot find backend ${JSON.stringify(name)}: no module at ${resolvePath(name)}`);
  const install = options.installCommand ?? 'npm install';
  const installed = listInstalledBackends(options.searchFrom);
  const available = `installed backends: ${installed.length ? installed.join(', ') : 'none'}`;
  const offered = options.offered ?? [];
  if (offered.includes(name) || candidates.length === 1) {
    return new ChaussetteError(`Backend ${JSON.stringify(name)} is not installed: run \`${install} ${candidates[0]}\` (${available})`);
  }
  return new ChaussetteError(
    `Unknown backend ${JSON.stringify(name)}: neither ${candidates.join(' nor ')} is installed (${available}${offered.length ? `; chaussette's own: ${offered.join(', ')}` : ''}). To use a third-party one, run \`${install} ${candidates[1]}\``,
  );
}

/**
 * Every installed backend but `except`, loaded: what the others can do, for the hints in messages
 * (see StartOptions.otherBackends). One that fails to load is left out.
 */
export async function loadInstalledBackends(options: ResolveBackendOptions, except?: string): Promise<Backend[]> {
  const names = listInstalledBackends(options.searchFrom).filter((name) => name !== except);
  const loaded = await Promise.allSettled(names.map((name) => resolveBackend(name, options)));
  return loaded.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
}

/** Backend names found in the node_modules folders that `searchFrom` resolves through. */
export function listInstalledBackends(searchFrom: readonly string[]): string[] {
  const names = new Set<string>();
  for (const start of searchFrom) {
    for (let directory = resolvePath(start); ; directory = dirname(directory)) {
      const modules = join(directory, 'node_modules');
      for (const entry of safeReaddir(join(modules, '@chaussette'))) {
        if (entry.startsWith('backend-')) names.add(entry.slice('backend-'.length));
      }
      for (const entry of safeReaddir(modules)) {
        if (entry.startsWith('chaussette-backend-')) names.add(entry.slice('chaussette-backend-'.length));
      }
      if (dirname(directory) === directory) break;
    }
  }
  return [...names].sort();
}

function safeReaddir(directory: string): string[] {
  try {
    return readdirSync(directory);
  } catch {
    return [];
  }
}
