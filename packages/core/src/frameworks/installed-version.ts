// The version of a framework's package as installed beside its build: what a refusal names, so that the
// user sees which release chaussette did not understand.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * `name`'s version from the first node_modules/NAME/package.json found walking up from each directory
 * in turn (Node's own lookup, without the package's exports map, which may not export package.json).
 */
export function installedVersion(name: string, directories: readonly string[]): string | undefined {
  for (const start of directories) {
    for (let directory = start; ; directory = dirname(directory)) {
      try {
        const { version } = JSON.parse(readFileSync(join(directory, 'node_modules', name, 'package.json'), 'utf8')) as { version?: unknown };
        if (typeof version === 'string') return version;
      } catch {
        // not installed here: look further up
      }
      if (dirname(directory) === directory) break;
    }
  }
  return undefined;
}

/** `@sveltejs/adapter-node 6.0.2`, or `@sveltejs/adapter-node (version unknown: not installed beside the build)`. */
export function describeVersion(name: string, version: string | undefined): string {
  return version ? `${name} ${version}` : `${name} (version unknown: not installed beside the build)`;
}
