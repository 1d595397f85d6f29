// TypeScript apps (and config and hook modules): Node 22.18+ and 23.6+ strip types by themselves
// (process.features.typescript); on older versions chaussette registers tsx, an optional dependency.
import { pathToFileURL } from 'node:url';
import { ChaussetteError, errorMessage, parseExportSpecifier } from '@chaussette/core';
import { resolve as resolveImport } from 'import-meta-resolve';

const TYPESCRIPT = /\.(?:ts|mts|cts|tsx)$/i;
let registered = false;

/** Whether a `path[:export]` specifier (or a plain path) names a TypeScript module. */
export function isTypeScript(specifier: string): boolean {
  return TYPESCRIPT.test(parseExportSpecifier(specifier).module);
}

/** Makes `import()` of .ts modules work on this Node.js, or says how. */
export async function enableTypeScript(specifier: string, searchFrom: readonly string[]): Promise<void> {
  const features = process.features as { typescript?: string | false };
  if (registered || features.typescript) return;
  for (const directory of searchFrom) {
    let esm: string;
    let cjs: string;
    try {
      const parent = pathToFileURL(`${directory}/`).href;
      esm = resolveImport('tsx/esm/api', parent);
      cjs = resolveImport('tsx/cjs/api', parent);
    } catch {
      continue;
    }
    try {
      ((await import(esm)) as { register(): unknown }).register();
      ((await import(cjs)) as { register(): unknown }).register();
    } catch (error) {
      throw new ChaussetteError(`Could not register tsx to load ${specifier}: ${errorMessage(error)}`, { cause: error });
    }
    registered = true;
    return;
  }
  throw new ChaussetteError(
    `${specifier} is TypeScript, which Node ${process.version} cannot load by itself: install tsx next to your app (\`npm install tsx\`), use Node 22.18 or newer, or compile it to JavaScript`,
  );
}
