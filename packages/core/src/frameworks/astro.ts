// Astro's @astrojs/node build. Its documentation names the server entry, dist/server/entry.mjs, which
// exports `handler` in both modes; in standalone mode, importing it also starts a server of its own unless
// ASTRO_NODE_AUTOSTART=disabled, which the @astrojs/node releases in KNOWN_MAJORS read. The mode itself is
// only in the build's code, so it is read from the entry's `options` export once imported.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { toApp } from '../detect-app.js';
import { ChaussetteError } from '../errors.js';
import { importModule } from '../load-module.js';
import { describeVersion, installedVersion } from './installed-version.js';
import type { Framework } from './index.js';

/** @astrojs/node majors whose standalone entry stays off its port with ASTRO_NODE_AUTOSTART=disabled. */
const KNOWN_MAJORS = { first: 9, last: 11 };

export const astro: Framework = {
  name: 'astro',
  recognize(path, cwd) {
    const entry = entryOf(path);
    if (!entry) return undefined;
    const astroVersion = installedVersion('astro', [dirname(entry), cwd]);
    // Without astro installed, only Astro's layout (dist/client beside dist/server) says it is one.
    if (!astroVersion && !existsSync(join(dirname(entry), '..', 'client'))) return undefined;
    const label = relative(cwd, entry);
    const adapterVersion = installedVersion('@astrojs/node', [dirname(entry), cwd]);
    const versions = [describeVersion('astro', astroVersion), describeVersion('@astrojs/node', adapterVersion)].join(', ');
    const major = Number(adapterVersion?.split('.', 1)[0]);
    if (!(major >= KNOWN_MAJORS.first && major <= KNOWN_MAJORS.last)) {
      const refusal = `${relative(cwd, path) || '.'} is an Astro build (${versions}): chaussette knows how to keep @astrojs/node ${KNOWN_MAJORS.first} to ${KNOWN_MAJORS.last} from listening on a port of its own, so it does not import ${label}`;
      return { description: `an Astro build (${label}, ${versions})`, load: () => Promise.reject(new ChaussetteError(refusal)) };
    }
    return {
      description: `an Astro build (${label}, ${versions})`,
      async load() {
        process.env.ASTRO_NODE_AUTOSTART = 'disabled';
        const exports = await importModule(entry, label);
        if (typeof exports.handler !== 'function') {
          throw new ChaussetteError(`${label} exports no handler function (its exports: ${Object.keys(exports).join(', ') || 'none'}), as @astrojs/node documents it; ${versions} is not understood`);
        }
        const mode = (exports.options as { mode?: unknown } | undefined)?.mode;
        const description = `an Astro build (${label}, ${versions}${typeof mode === 'string' ? `, ${mode} mode` : ''})`;
        const manifest = serializedManifest(dirname(entry));
        return { ...toApp(exports.handler, `${label}:handler`, 'node'), description, notes: notes(mode, manifest, Number(astroVersion?.split('.', 1)[0])) };
      },
    };
  },
};

/** dist/server/entry.mjs, named as itself, as dist/server or as dist. */
function entryOf(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  if (statSync(path).isFile()) return basename(path) === 'entry.mjs' ? path : undefined;
  return [join(path, 'entry.mjs'), join(path, 'server', 'entry.mjs')].find((file) => existsSync(file));
}

interface ManifestSettings {
  emptyAllowedDomains: boolean;
  checkOrigin: boolean;
}

/**
 * The security settings Astro serializes into its server manifest, as JSON, in one of the server's files.
 * Only for a note: a build that keeps them elsewhere gets none.
 */
function serializedManifest(serverDir: string): ManifestSettings | undefined {
  const files = [serverDir, join(serverDir, 'chunks')].flatMap((directory) =>
    existsSync(directory) ? readdirSync(directory).filter((name) => name.endsWith('.mjs')).map((name) => join(directory, name)) : [],
  );
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const allowedDomains = /"allowedDomains":\[([^\]]*)\]/.exec(text);
    if (allowedDomains) return { emptyAllowedDomains: allowedDomains[1] === '', checkOrigin: text.includes('"checkOrigin":true') };
  }
  return undefined;
}

function notes(mode: unknown, manifest: ManifestSettings | undefined, astroMajor: number): string[] {
  const notes: string[] = [];
  // Astro 6 builds Astro.url from the Host header whatever allowedDomains says; 5 and 7 only from a listed host.
  if (manifest?.emptyAllowedDomains && astroMajor !== 6) {
    notes.push(
      `security.allowedDomains is empty in astro.config: Astro ignores the Host header, so Astro.url is http://localhost/…${manifest.checkOrigin ? ' and form POSTs from browsers get 403 (cross-site)' : ''}; list the site's host names there and rebuild`,
    );
  } else if (manifest?.emptyAllowedDomains) {
    notes.push(`security.allowedDomains is empty in astro.config: Astro trusts no X-Forwarded-Host, -Proto or -For header, so behind a proxy Astro.url and clientAddress are the proxy's; list the site's host names there and rebuild`);
  }
  if (mode === 'middleware') notes.push(`@astrojs/node is in middleware mode: the files of dist/client are not served; use mode: 'standalone' to have them served`);
  return notes;
}
