// --use-reloader: which files a change to restarts the server. Those its process loaded (its child reports
// them, loaded-files.ts), wherever they are, and the source files under the roots (the app's directory,
// or --reload-dir) when the server started: a file the app creates at run time (an upload, a database)
// was not there then, so it never restarts it. Only the directories holding them are watched, each on
// its own: no inotify watch or stat poll in node_modules.
import { type Dirent, type FSWatcher, readdirSync, statSync, watch } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { invalidOption, parseExportSpecifier } from '@chaussette/core';
import type { CliOptions } from './option-table.js';

/**
 * The source files looked for under the roots, besides --reload-include's. A .json file counts once the
 * app loads it as a module: one it reads or writes as data (a lowdb database, a cache) never restarts it.
 */
export const SOURCE_GLOBS: readonly string[] = ['*.js', '*.mjs', '*.cjs', '*.ts', '*.mts', '*.cts'];

/** The extensions core's resolveModule tries after the name as given. */
const APP_EXTENSIONS = ['.js', '.mjs', '.cjs'];

export interface ReloadScope {
  /** Where source files are looked for: each --reload-dir, else the directory of each app served. */
  roots: string[];
  /** Globs of the source files there: SOURCE_GLOBS, then --reload-include's. */
  includes: string[];
  /** --reload-exclude: never a reload for these, loaded or not. */
  excludes: string[];
}

type ScopeOptions = Pick<CliOptions, 'application' | 'mounts' | 'reloadDirs' | 'reloadIncludes' | 'reloadExcludes'>;

/** What the reloader watches, from the options; a --reload-dir that is no directory is an error. */
export function reloadScope(options: ScopeOptions, cwd: string): ReloadScope {
  const roots = options.reloadDirs.length > 0 ? options.reloadDirs.map((directory) => existingDirectory(directory, cwd)) : appDirectories(options, cwd);
  return { roots: [...new Set(roots)], includes: [...SOURCE_GLOBS, ...options.reloadIncludes], excludes: options.reloadExcludes };
}

function existingDirectory(directory: string, cwd: string): string {
  const path = resolve(cwd, directory);
  if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw invalidOption('--reload-dir', directory, `a directory; there is none at ${path}`);
  return path;
}

/** The directories of the apps named by a path; the current directory when none is (an installed package, the hello app). */
function appDirectories({ application, mounts }: ScopeOptions, cwd: string): string[] {
  const specifiers = mounts.length > 0 ? mounts.map(({ spec }) => spec) : application === undefined ? [] : [application];
  const directories = specifiers.flatMap((specifier) => appDirectory(specifier, cwd) ?? []);
  return directories.length > 0 ? directories : [cwd];
}

/** A module's directory, or the directory named (a framework's build, a package's); undefined for an installed package. */
function appDirectory(specifier: string, cwd: string): string | undefined {
  const base = resolve(cwd, parseExportSpecifier(specifier).module);
  for (const candidate of [base, ...APP_EXTENSIONS.map((extension) => base + extension)]) {
    const stats = statSync(candidate, { throwIfNoEntry: false });
    if (stats) return stats.isDirectory() ? candidate : dirname(candidate);
  }
  return undefined;
}

/**
 * A glob as uvicorn matches its --reload-include: against the end of a path (`*.html` any HTML file,
 * `views/*.html` one in a views directory), or the whole path when it starts with `/`. `*` and `?` stay
 * within a name, `**` spans directories.
 */
export function globToRegExp(glob: string): RegExp {
  const pattern = glob.replace(/^\.\//, '').replace(/(.)\/+$/, '$1');
  let source = '';
  for (let index = 0; index < pattern.length; index++) {
    if (pattern.startsWith('**/', index)) {
      source += '(?:[^/]*/)*';
      index += 2;
    } else if (pattern.startsWith('**', index)) {
      source += '.*';
      index += 1;
    } else {
      const char = pattern[index]!;
      source += char === '*' ? '[^/]*' : char === '?' ? '[^/]' : char.replace(/[.+^${}()|[\]\\]/, '\\$&');
    }
  }
  return new RegExp(`${pattern.startsWith('/') ? '^' : '(?:^|/)'}${source}$`);
}

/** A path with `/` between its names, as globs are written. */
function slashed(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

function isInside(path: string, directory: string): boolean {
  const rest = relative(directory, path);
  return rest !== '' && !rest.startsWith('..') && !isAbsolute(rest);
}

/** Not looked into for sources: dependencies, and dot-directories (.git, caches) and dotfiles (editors' swap files). */
function isSkippedName(name: string): boolean {
  return name === 'node_modules' || name.startsWith('.');
}

/** Watches the app's files; calls onChange with the file whose change should reload the app. */
export class AppWatcher {
  /** While no version of the app serves: a new source file reloads too (the one that failed may need it). */
  reloadOnNewSources = false;
  readonly #roots: string[];
  readonly #includes: RegExp[];
  readonly #excludes: RegExp[];
  #sources = new Set<string>();
  readonly #loaded = new Set<string>();
  readonly #watchers = new Map<string, FSWatcher>();

  constructor(
    scope: ReloadScope,
    /** Chaussette's own files (logs, unix sockets): never a reload. */
    private readonly ignored: ReadonlySet<string>,
    private readonly onChange: (file: string) => void,
  ) {
    this.#roots = scope.roots;
    this.#includes = scope.includes.map(globToRegExp);
    this.#excludes = scope.excludes.map(globToRegExp);
  }

  /** Looks for the source files under the roots again: call it as a server starts, for the files it may run. */
  rescan(): void {
    const sources = new Set<string>();
    for (const root of this.#roots) this.#scan(root, sources);
    this.#sources = sources;
  }

  /** Files the server's process loaded. */
  addLoaded(files: readonly string[]): void {
    for (const file of files) {
      if (this.#loaded.has(file) || this.#isExcluded(file)) continue;
      this.#loaded.add(file);
      this.#watch(dirname(file));
    }
  }

  close(): void {
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }

  #scan(directory: string, sources: Set<string>): void {
    this.#watch(directory);
    let entries: Dirent[];
    try {
      entries = readdirSync(directory, { withFileTypes: true });
    } catch {
      return; // removed meanwhile, or unreadable: nothing of the app's there
    }
    for (const entry of entries) {
      const path = join(directory, entry.name);
      if (isSkippedName(entry.name) || this.#matches(this.#excludes, path)) continue;
      if (entry.isDirectory()) this.#scan(path, sources);
      else if (this.#matches(this.#includes, path)) sources.add(path);
    }
  }

  #watch(directory: string): void {
    if (this.#watchers.has(directory)) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(directory, (_event, name) => name && this.#changed(join(directory, String(name))));
    } catch {
      return; // gone already
    }
    watcher.on('error', () => {
      watcher.close();
      this.#watchers.delete(directory);
    });
    this.#watchers.set(directory, watcher);
  }

  #changed(file: string): void {
    if (this.#reloadsFor(file)) this.onChange(file);
  }

  #reloadsFor(file: string): boolean {
    if (this.ignored.has(file)) return false;
    if (this.#loaded.has(file) || this.#sources.has(file)) return true;
    return this.reloadOnNewSources && this.#isSource(file);
  }

  #isSource(file: string): boolean {
    const root = this.#rootOf(file);
    if (root === undefined || relative(root, file).split(sep).some(isSkippedName)) return false;
    return this.#matches(this.#includes, file) && !this.#isExcluded(file);
  }

  /** Excluded itself, or in an excluded directory under its root. */
  #isExcluded(file: string): boolean {
    const root = this.#rootOf(file);
    for (let path = file; ; path = dirname(path)) {
      if (this.#matches(this.#excludes, path)) return true;
      if (root === undefined || !isInside(dirname(path), root)) return false;
    }
  }

  /** The innermost root holding the file. */
  #rootOf(file: string): string | undefined {
    return this.#roots.filter((root) => isInside(file, root)).sort((a, b) => b.length - a.length)[0];
  }

  #matches(globs: readonly RegExp[], path: string): boolean {
    const text = slashed(path);
    return globs.some((glob) => glob.test(text));
  }
}
