// SvelteKit's adapter-node build. Its documentation names two files in the build directory: index.js,
// which starts a server on a port of its own, and handler.js, which exports `handler` for a custom server
// (https://svelte.dev/docs/kit/adapter-node#Custom-server). chaussette imports handler.js only, whether
// kit is bundled into the build (sv create puts it in devDependencies) or imported from node_modules.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { toApp } from '../detect-app.js';
import { ChaussetteError } from '../errors.js';
import { importModule } from '../load-module.js';
import { describeVersion, installedVersion } from './installed-version.js';
import type { Framework } from './index.js';

export const sveltekit: Framework = {
  name: 'sveltekit',
  recognize(path, cwd) {
    const named = isDirectory(path) ? undefined : basename(path);
    const directory = named === 'index.js' || named === 'handler.js' ? dirname(path) : named ? undefined : path;
    if (!directory || !isAdapterNodeLayout(directory)) return undefined;
    const versions = [versionOf('@sveltejs/kit', directory, cwd), versionOf('@sveltejs/adapter-node', directory, cwd)].join(', ');
    const handlerFile = join(directory, 'handler.js');
    const handler = relative(cwd, handlerFile);
    const index = relative(cwd, join(directory, 'index.js'));
    if (!existsSync(handlerFile)) {
      const refusal = `${relative(cwd, path) || '.'} is a SvelteKit build (${versions}) without handler.js, the file adapter-node documents for custom servers; its ${index} listens on a port of its own, so chaussette does not import it`;
      return { description: `a SvelteKit build (${versions})`, load: () => Promise.reject(new ChaussetteError(refusal)) };
    }
    const description = `a SvelteKit build (${handler}, ${versions}${named === 'index.js' ? `; not ${index}, which listens on its own` : ''})`;
    return {
      description,
      async load() {
        const exports = await importModule(handlerFile, handler);
        if (typeof exports.handler !== 'function') {
          throw new ChaussetteError(`${handler} exports no handler function (its exports: ${Object.keys(exports).join(', ') || 'none'}), as adapter-node documents it; ${versions} is not understood`);
        }
        return {
          ...toApp(exports.handler, `${handler}:handler`, 'node'),
          description,
          notes: originNotes(await buildSettings(directory, cwd)),
          // What adapter-node's own server emits once it has closed, for the app's cleanup.
          close: async () => void (process as NodeJS.EventEmitter).emit('sveltekit:shutdown', 'SIGTERM'),
        };
      },
    };
  },
};

/** adapter-node's build: index.js beside the client/ and server/ directories it writes. */
function isAdapterNodeLayout(directory: string): boolean {
  return existsSync(join(directory, 'index.js')) && isDirectory(join(directory, 'client')) && isDirectory(join(directory, 'server'));
}

function versionOf(name: string, directory: string, cwd: string): string {
  return describeVersion(name, installedVersion(name, [directory, cwd]));
}

interface BuildSettings {
  /** The prefix of adapter-node's variables (its envPrefix option). */
  prefix: string;
  /** kit's paths.origin (SvelteKit 3), which ORIGIN would otherwise give. */
  origin?: string;
}

/**
 * What only the build knows of its configuration: env.js exports the prefix up to adapter-node 5,
 * adapter-node.js the prefix and the origin from 6. handler.js has already imported either; neither listens.
 */
async function buildSettings(directory: string, cwd: string): Promise<BuildSettings> {
  for (const file of ['env.js', 'adapter-node.js'].map((name) => join(directory, name))) {
    if (!existsSync(file)) continue;
    const { env_prefix: prefix, origin } = await importModule(file, relative(cwd, file));
    if (typeof prefix === 'string') return { prefix, origin: typeof origin === 'string' ? origin : undefined };
  }
  return { prefix: '' };
}

function originNotes({ prefix, origin }: BuildSettings): string[] {
  if (origin || process.env[`${prefix}ORIGIN`] || process.env[`${prefix}PROTOCOL_HEADER`]) return [];
  return [
    `${prefix}ORIGIN is not set: SvelteKit then takes each request for https://<its Host header>, so over plain http its form POSTs get 403 (cross-site); set ${prefix}ORIGIN to the public URL (${prefix}ORIGIN=http://localhost:8080), or ${prefix}PROTOCOL_HEADER and ${prefix}HOST_HEADER behind a proxy`,
  ];
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
