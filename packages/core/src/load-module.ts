import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolve as resolveImport } from 'import-meta-resolve';
import { ChaussetteError, errorCode, errorMessage, isChaussetteError } from './errors.js';

/** `./app.js:api.handler` → module `./app.js`, export path `['api', 'handler']` (`default` when none). */
export interface ExportSpecifier {
  module: string;
  exportPath: string[];
}

const EXPORT_PATH = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/;

export function parseExportSpecifier(specifier: string): ExportSpecifier {
  const colon = specifier.lastIndexOf(':');
  const name = specifier.slice(colon + 1);
  if (colon > 0 && EXPORT_PATH.test(name)) {
    return { module: specifier.slice(0, colon), exportPath: name.split('.') };
  }
  return { module: specifier, exportPath: ['default'] };
}

const EXTENSIONS = ['.js', '.mjs', '.cjs'];

/**
 * Requires `id` as the module at `fromUrl` would, by its real path: a package that finds its native part
 * relative to its own directory (koffi) finds it in pnpm's store only when it was loaded through the
 * link's target (a test runner that keeps symlinks fails otherwise).
 */
export function requireByRealPath<T>(fromUrl: string, id: string): T {
  const require = createRequire(fromUrl);
  return require(realpathSync(require.resolve(id))) as T;
}

/**
 * Finds the file a module specifier names, like uvicorn's `module:attr` lookup from the current directory:
 * a path (`./app.js`, `app.js`, `app`, a directory with a package.json), else an installed package.
 */
export function resolveModule(module: string, cwd: string, role = 'application'): string {
  const looksLikePath = module.startsWith('.') || isAbsolute(module);
  const base = resolvePath(cwd, module);
  for (const candidate of [base, ...EXTENSIONS.map((extension) => base + extension)]) {
    if (!existsSync(candidate)) continue;
    if (!statSync(candidate).isDirectory()) return candidate;
    const entry = packageEntry(candidate);
    if (entry) return entry;
  }
  if (!looksLikePath) {
    try {
      return fileURLToPath(resolveImport(module, pathToFileURL(join(cwd, 'noop.js')).href));
    } catch (error) {
      if (!['ERR_MODULE_NOT_FOUND', 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'ERR_INVALID_MODULE_SPECIFIER'].includes(errorCode(error) ?? '')) {
        throw new ChaussetteError(`Cannot resolve ${role} ${JSON.stringify(module)}: ${errorMessage(error)}`, { cause: error });
      }
    }
  }
  const tried = looksLikePath
    ? `no file ${base}{,${EXTENSIONS.join(',')}}`
    : `no file ./${module}{,${EXTENSIONS.join(',')}} in ${cwd}, and no installed package ${JSON.stringify(module)}`;
  throw new ChaussetteError(`Cannot find ${role} ${JSON.stringify(module)}: ${tried}. Check the path, or run chaussette from the app's directory`);
}

/** The entry file of a package directory: its exports' `.` (import or default condition), else main, else index.js. */
function packageEntry(directory: string): string | undefined {
  let manifest: { exports?: unknown; main?: string };
  try {
    manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as typeof manifest;
  } catch {
    manifest = {};
  }
  let target: unknown = manifest.exports;
  if (target && typeof target === 'object' && '.' in target) target = (target as Record<string, unknown>)['.'];
  while (target && typeof target === 'object' && !Array.isArray(target)) {
    const conditions = target as Record<string, unknown>;
    target = conditions.import ?? conditions.node ?? conditions.default;
  }
  const file = join(directory, typeof target === 'string' ? target : (manifest.main ?? 'index.js'));
  return existsSync(file) ? file : undefined;
}

/** Imports a module file; an error thrown while it loads becomes one line naming the module. */
export async function importModule(file: string, label: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    if (isChaussetteError(error)) throw error; // the module already says what to do
    const hint = errorCode(error) === 'ERR_UNKNOWN_FILE_EXTENSION'
      ? ' (TypeScript and other sources must be compiled to JavaScript first)'
      : ' (fix the error in that module; --log-level debug shows the stack)';
    throw new ChaussetteError(`Loading ${label} failed: ${firstLine(errorMessage(error))}${hint}`, { cause: error });
  }
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}

/**
 * Resolves `specifier` from `cwd`, imports it and returns the named export (a missing one lists those
 * that exist), in a box: an async function that returned the export itself would call its then(), and
 * some apps answer `then` (itty-router's Router answers any name with a route registrar).
 */
export async function loadExport(specifier: string, cwd: string, role = 'application'): Promise<{ value: unknown }> {
  const { module, exportPath } = parseExportSpecifier(specifier);
  const namespace = await importModule(resolveModule(module, cwd, role), `${role} ${module}`);
  let value: unknown = namespace;
  for (const [index, key] of exportPath.entries()) {
    const holder = value as Record<string, unknown>;
    // A CommonJS module's properties set at run time show only on its default export.
    const found = index === 0 && !(key in holder) ? (holder.default as Record<string, unknown> | undefined)?.[key] : holder[key];
    if (found === undefined) {
      throw missingExport(specifier, module, exportPath.slice(0, index + 1).join('.'), holder, index === 0);
    }
    value = found;
  }
  return { value };
}

function missingExport(
  specifier: string,
  module: string,
  name: string,
  holder: Record<string, unknown>,
  topLevel: boolean,
): ChaussetteError {
  const names = Object.keys(holder).filter((key) => key !== '__esModule' && (!topLevel || holder[key] !== undefined));
  if (topLevel && holder.default && typeof holder.default === 'object') {
    names.push(...Object.keys(holder.default).filter((key) => !names.includes(key) && key !== 'default'));
  }
  names.sort();
  const listed = names.length > 0 ? `its exports: ${names.join(', ')}` : 'it exports nothing';
  const example = names.find((key) => key !== 'default');
  const hint = example ? `; name one after a colon, e.g. ${module}:${example}` : '';
  const what = name === 'default' ? 'no default export' : `no export ${JSON.stringify(name)}`;
  return new ChaussetteError(`${JSON.stringify(specifier)} has ${what} (${listed})${hint}`);
}
