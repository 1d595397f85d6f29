// Nitro's builds (Nuxt's and others'): `.output`, with nitro.json saying the preset it was built with.
// Only the node-listener preset exports a request listener. node-server (Nuxt's default) and node-cluster
// create and listen on a server of their own as their entry is imported, with nothing exported to reach
// it, so they are refused before anything is imported.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import type { App } from '../backend.js';
import { toApp } from '../detect-app.js';
import { ChaussetteError, errorMessage } from '../errors.js';
import { importModule } from '../load-module.js';
import type { Framework } from './index.js';

/** The output directory (with nitro.json) and the server's entry. */
interface Build {
  outputDir: string;
  entry: string;
}

/** nitro.json, as Nitro writes it beside the build. */
interface BuildInfo {
  preset?: string;
  framework?: { name?: string; version?: string };
  versions?: { nitro?: string };
}

export const nitro: Framework = {
  name: 'nitro',
  recognize(path, cwd) {
    const found = findBuild(path);
    if (!found) return undefined;
    const info = readBuildInfo(found.outputDir);
    const framework = frameworkName(info.framework?.name);
    const preset = info.preset ?? 'unknown';
    const entry = relative(cwd, found.entry);
    const built = `${framework.article}${info.framework?.version && info.framework.name !== 'nitro' ? ` ${info.framework.version}` : ''} build`;
    const nitroVersion = info.versions?.nitro ? `Nitro ${info.versions.nitro}` : 'Nitro';
    const description = `${built} (${entry}, ${nitroVersion} ${preset} preset)`;
    if (preset !== 'node-listener' && preset !== 'node') {
      const named = relative(cwd, path) || '.';
      const why = preset === 'node-server' || preset === 'node-cluster' ? 'which listens on a port of its own' : 'which is not a node request listener';
      return {
        description,
        load: () => Promise.reject(new ChaussetteError(`${named} is ${built} with ${nitroVersion}'s ${preset} preset, ${why}; build it with the node-listener preset: ${framework.advice}`)),
      };
    }
    return { description, load: () => loadListener(found, { entry, description, framework, cwd }) };
  },
};

/** The build that `.output`, `.output/server` or `.output/server/index.mjs` names. */
function findBuild(path: string): Build | undefined {
  if (!existsSync(path)) return undefined;
  if (statSync(path).isDirectory()) {
    if (existsSync(join(path, 'nitro.json'))) return { outputDir: path, entry: join(path, 'server', 'index.mjs') };
    if (existsSync(join(path, 'index.mjs')) && existsSync(join(path, '..', 'nitro.json'))) return { outputDir: dirname(path), entry: join(path, 'index.mjs') };
    return undefined;
  }
  const outputDir = dirname(dirname(path));
  if (basename(path) === 'index.mjs' && existsSync(join(outputDir, 'nitro.json'))) return { outputDir, entry: path };
  return undefined;
}

function readBuildInfo(outputDir: string): BuildInfo {
  const file = join(outputDir, 'nitro.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as BuildInfo;
  } catch (error) {
    throw new ChaussetteError(`Cannot read Nitro's build info ${file}: ${errorMessage(error)} (build again)`, { cause: error });
  }
}

interface FrameworkName {
  /** `a Nuxt`, `a Nitro`, `an analog (Nitro)`. */
  article: string;
  /** How to build with the node-listener preset, public files included. */
  advice: string;
  /** Where serveStatic is set. */
  serveStatic: string;
}

function frameworkName(name = 'nitro'): FrameworkName {
  if (name === 'nuxt') {
    return {
      article: 'a Nuxt',
      advice: `nitro: { preset: 'node-listener', serveStatic: true } in nuxt.config.ts, or NITRO_PRESET=node-listener nuxt build (the public files then need serveStatic: true)`,
      serveStatic: 'nitro: { serveStatic: true } in nuxt.config.ts',
    };
  }
  if (name === 'nitro') {
    return {
      article: 'a Nitro',
      advice: `preset: 'node-listener', serveStatic: true in nitro.config.ts, or NITRO_PRESET=node-listener nitro build (the public files then need serveStatic: true)`,
      serveStatic: 'serveStatic: true in nitro.config.ts',
    };
  }
  return {
    article: `${/^[aeiou]/i.test(name) ? 'an' : 'a'} ${name} (Nitro)`,
    advice: `NITRO_PRESET=node-listener when building, and Nitro's serveStatic: true for the public files`,
    serveStatic: `Nitro's serveStatic: true in ${name}'s config`,
  };
}

async function loadListener(build: Build, said: { entry: string; description: string; framework: FrameworkName; cwd: string }): Promise<App> {
  const exports = await importModule(build.entry, said.entry);
  const listener = exports.listener ?? exports.handler;
  if (typeof listener !== 'function') {
    throw new ChaussetteError(`${said.entry} exports no listener, as Nitro's node-listener preset makes it; build again`);
  }
  const notes: string[] = [];
  if (!servesPublicFiles(build)) {
    const publicDir = relative(said.cwd, join(build.outputDir, 'public'));
    notes.push(`${publicDir} is not served: Nitro's node-listener preset serves it only when built with ${said.framework.serveStatic} (or serve it from a proxy or CDN)`);
  }
  if (exports.websocket !== undefined) {
    notes.push(`Nitro's WebSocket handlers (experimental.websocket) are not served: chaussette serves ${said.entry}'s request listener only`);
  }
  return { ...toApp(listener, `${said.entry}:listener`, 'node'), description: said.description, notes };
}

/**
 * Whether the build answers for the files in public/: with serveStatic, Nitro bundles a manifest of
 * them, each read from `../public/…` beside the server, in its runtime chunk (or the entry itself).
 */
function servesPublicFiles({ outputDir, entry }: Build): boolean {
  const publicDir = join(outputDir, 'public');
  if (!existsSync(publicDir) || readdirSync(publicDir).length === 0) return true;
  const runtimeDir = join(dirname(entry), 'chunks', 'nitro');
  const files = [entry, ...(existsSync(runtimeDir) ? readdirSync(runtimeDir).filter((name) => name.endsWith('.mjs')).map((name) => join(runtimeDir, name)) : [])];
  return files.some((name) => /isPublicAssetURL|["']\.\.\/public\//.test(readFileSync(name, 'utf8')));
}
