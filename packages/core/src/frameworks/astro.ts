// Astro's @astrojs/node build: dist/server/entry.mjs exports the handler, and in standalone mode starts a
// server of its own when imported, unless ASTRO_NODE_AUTOSTART=disabled.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { toApp } from '../detect-app.js';
import { importModule } from '../load-module.js';
import type { Framework } from './index.js';

export const astro: Framework = {
  name: 'astro',
  recognize(path, cwd) {
    const entry = entryOf(path);
    // The arguments @astrojs/node writes into its entry: `"mode": "standalone"` (or "middleware").
    const mode = entry && /const _args = \{[^}]*"mode": "(standalone|middleware)"/.exec(readFileSync(entry, 'utf8'))?.[1];
    if (!entry || !mode) return undefined;
    const label = relative(cwd, entry);
    const description = `an Astro build (${label}, @astrojs/node in ${mode} mode)`;
    return {
      description,
      async load() {
        process.env.ASTRO_NODE_AUTOSTART = 'disabled';
        const module = await importModule(entry, label);
        const manifestFile = /from '\.\/(manifest_[\w-]+\.mjs)'/.exec(readFileSync(entry, 'utf8'))?.[1];
        const { manifest } = manifestFile ? await importModule(join(dirname(entry), manifestFile), label) : {};
        return { ...toApp(module.handler, `${label}:handler`, 'node'), description, notes: notes(mode, manifest as Manifest | undefined) };
      },
    };
  },
};

interface Manifest {
  allowedDomains?: unknown[];
  checkOrigin?: boolean;
}

/** dist/server/entry.mjs, named as itself, as dist/server or as dist. */
function entryOf(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  if (statSync(path).isFile()) return basename(path) === 'entry.mjs' ? path : undefined;
  return [join(path, 'entry.mjs'), join(path, 'server', 'entry.mjs')].find((file) => existsSync(file));
}

function notes(mode: string, manifest: Manifest | undefined): string[] {
  const notes: string[] = [];
  if (manifest?.allowedDomains?.length === 0) {
    notes.push(
      `security.allowedDomains is empty in astro.config: Astro ignores the Host header, so Astro.url is http://localhost/…${manifest.checkOrigin ? ' and form POSTs from browsers get 403 (cross-site)' : ''}; list the site's host names there and rebuild`,
    );
  }
  if (mode === 'middleware') notes.push(`@astrojs/node is in middleware mode: the files of dist/client are not served; use mode: 'standalone' to have them served`);
  return notes;
}
