// SvelteKit's adapter-node build: build/handler.js is the app; build/index.js serves it on a port of its own.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { toApp } from '../detect-app.js';
import { importModule } from '../load-module.js';
import type { Framework } from './index.js';

type Env = (name: string, fallback?: string) => string | undefined;

export const sveltekit: Framework = {
  name: 'sveltekit',
  recognize(path, cwd) {
    const named = existsSync(path) && statSync(path).isFile() ? basename(path) : undefined;
    const directory = named === 'index.js' || named === 'handler.js' ? dirname(path) : named ? undefined : path;
    if (!directory || !isAdapterNodeBuild(directory)) return undefined;
    const handler = relative(cwd, join(directory, 'handler.js'));
    const description = `a SvelteKit build (${handler}${named === 'index.js' ? `, not ${relative(cwd, path)}, which listens on its own` : ''})`;
    return {
      description,
      async load() {
        const module = await importModule(join(directory, 'handler.js'), handler);
        const { env, env_prefix: prefix } = await importModule(join(directory, 'env.js'), relative(cwd, join(directory, 'env.js')));
        return {
          ...toApp(module.handler, `${handler}:handler`, 'node'),
          description,
          notes: originNotes(env as Env, prefix as string),
          // What adapter-node's own server emits once it has closed, for the app's cleanup.
          close: async () => void (process as NodeJS.EventEmitter).emit('sveltekit:shutdown', 'SIGTERM'),
        };
      },
    };
  },
};

/** adapter-node's own files, its env.js with the prefix it was built with (`adapter({ envPrefix })`). */
function isAdapterNodeBuild(directory: string): boolean {
  const files = ['handler.js', 'index.js', 'env.js', 'shims.js'].map((file) => join(directory, file));
  if (!files.every((file) => existsSync(file))) return false;
  return readFileSync(files[2]!, 'utf8').includes('env_prefix') && readFileSync(files[3]!, 'utf8').includes('@sveltejs/kit/node/polyfills');
}

function originNotes(env: Env, prefix: string): string[] {
  if (env('ORIGIN') || env('PROTOCOL_HEADER')) return [];
  return [
    `${prefix}ORIGIN is not set: SvelteKit then takes each request for https://<its Host header>, so over plain http its form POSTs get 403 (cross-site); set ${prefix}ORIGIN to the public URL (${prefix}ORIGIN=http://localhost:8080), or ${prefix}PROTOCOL_HEADER and ${prefix}HOST_HEADER behind a proxy`,
  ];
}
