// Next.js: `chaussette .next` serves `next build`'s output as `next start` would, through Next's custom
// server API (`next({ dev: false, dir })`), which never listens. `output: 'standalone'` builds are served
// from the standalone app's directory, with the configuration server.js would give Next, not server.js.
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolve as resolveImport } from 'import-meta-resolve';
import type { NodeApp, NodeListener } from '../backend.js';
import { ChaussetteError, errorMessage } from '../errors.js';
import { importModule } from '../load-module.js';
import type { Framework, FrameworkBuild } from './index.js';

/** What `next build` leaves beside BUILD_ID: the build's configuration and where it was made. */
interface RequiredServerFiles {
  config: { distDir?: string; output?: string };
  relativeAppDir?: string;
}

interface NextCustomServer {
  prepare(): Promise<void>;
  getRequestHandler(): NodeListener;
  close?(): Promise<void>;
}
type CreateNext = (options: Record<string, unknown>) => NextCustomServer;

export const next: Framework = {
  name: 'next',
  recognize(path, cwd) {
    const named = relative(cwd, path) || basename(path);
    const distDir = isDirectory(path) ? path : undefined;
    if (distDir && existsSync(join(distDir, 'BUILD_ID'))) {
      const files = requiredServerFiles(distDir);
      const appDir = resolve(distDir, ...(files.config.distDir ?? '.next').split(/[\\/]/).filter(Boolean).map(() => '..'));
      if (isStandaloneServer(join(appDir, 'server.js'))) return standaloneBuild(appDir, named);
      if (files.config.output === 'export') {
        throw new ChaussetteError(`${named} is a static export of Next.js (output: 'export'): its pages are in out/, for a static file server, not for chaussette`);
      }
      return nextBuild(appDir, named, files);
    }
    if (distDir && basename(distDir) === '.next') {
      throw new ChaussetteError(`${named} holds no production build of Next.js (no BUILD_ID; \`next dev\` builds for development only): run \`next build\` first`);
    }
    if (distDir && basename(distDir) === 'standalone' && existsSync(join(dirname(distDir), 'BUILD_ID'))) {
      // In a workspace the app sits as deep in standalone/ as it did under the workspace's root.
      const appDir = join(distDir, requiredServerFiles(dirname(distDir)).relativeAppDir ?? '');
      if (isStandaloneServer(join(appDir, 'server.js'))) return standaloneBuild(appDir, named);
    }
    const server = distDir ? join(distDir, 'server.js') : path;
    if (basename(server) === 'server.js' && isStandaloneServer(server)) return standaloneBuild(dirname(server), named);
    return undefined;
  },
};

function nextBuild(appDir: string, named: string, files: RequiredServerFiles): FrameworkBuild {
  const description = `a Next.js build (${named}, Next.js ${nextVersion(appDir)})`;
  return {
    description,
    async load() {
      // Else Next says "next start" does not work with this build (it does) and to run server.js instead.
      if (files.config.output === 'standalone') process.env.__NEXT_PRIVATE_STANDALONE_CONFIG = JSON.stringify(files.config);
      return nextApp(appDir, description, notes(appDir));
    },
  };
}

function standaloneBuild(appDir: string, named: string): FrameworkBuild {
  const version = nextVersion(appDir);
  const description = `a Next.js standalone build (${named}, Next.js ${version}; its server.js not run)`;
  return {
    description,
    async load() {
      // What server.js does before it starts Next: the build's configuration, not next.config.* (absent).
      process.env.__NEXT_PRIVATE_STANDALONE_CONFIG = JSON.stringify(requiredServerFiles(join(appDir, '.next')).config);
      const copy = existsSync(join(appDir, '.next/static'))
        ? []
        : [`${appDir} has no .next/static: next build leaves it out of standalone output, and public/ too; copy both in from the project, or pages miss their scripts and files`];
      return nextApp(appDir, description, [...copy, ...notes(appDir)]);
    },
  };
}

async function nextApp(appDir: string, description: string, appNotes: string[]): Promise<NodeApp> {
  const createNext = (await importModule(resolveNext(appDir), 'Next.js')).default as CreateNext;
  // Next's custom server adds its 'upgrade' listener (proxying WebSocket rewrites) to the server of the
  // first request's socket, unless given one: this one never emits, and chaussette's server stays its own.
  const nextServer = createNext({ dev: false, dir: appDir, httpServer: new EventEmitter() });
  return {
    kind: 'node',
    listener: nextServer.getRequestHandler(),
    description,
    notes: appNotes,
    source: nextServer,
    async ready() {
      try {
        await nextServer.prepare();
      } catch (error) {
        throw new ChaussetteError(`Next.js could not start the build in ${appDir}: ${errorMessage(error).split('\n', 1)[0]}`, { cause: error });
      }
    },
    close: async () => void (await nextServer.close?.()),
  };
}

function notes(appDir: string): string[] {
  // next() takes the port it builds URLs with before chaussette listens, and keeps it.
  const notes = ["Next.js's request.url says http://localhost:3000, not the address chaussette serves on: redirect to relative URLs"];
  const nodeEnv = process.env.NODE_ENV;
  if (nodeEnv !== undefined && nodeEnv !== 'production') {
    notes.push(`NODE_ENV is ${nodeEnv}: a Next.js build is made to run with NODE_ENV=production (as next start sets it)`);
  }
  if (process.cwd() !== appDir) {
    notes.push(`The app's directory is ${appDir}, not the working directory ${process.cwd()}: files read relative to process.cwd() are looked for here; run chaussette from the app's directory`);
  }
  return notes;
}

function resolveNext(appDir: string, file = 'next'): string {
  try {
    return fileURLToPath(resolveImport(file, pathToFileURL(join(appDir, 'noop.js')).href));
  } catch (error) {
    throw new ChaussetteError(`Cannot serve the Next.js build in ${appDir}: the package next is not installed there; install it in the app (npm install next)`, { cause: error });
  }
}

function nextVersion(appDir: string): string {
  return (JSON.parse(readFileSync(resolveNext(appDir, 'next/package.json'), 'utf8')) as { version: string }).version;
}

function requiredServerFiles(distDir: string): RequiredServerFiles {
  try {
    return JSON.parse(readFileSync(join(distDir, 'required-server-files.json'), 'utf8')) as RequiredServerFiles;
  } catch (error) {
    throw new ChaussetteError(`${distDir} is an incomplete Next.js build (its required-server-files.json: ${errorMessage(error)}): run \`next build\` again`, { cause: error });
  }
}

function isStandaloneServer(file: string): boolean {
  try {
    return readFileSync(file, 'utf8').includes('__NEXT_PRIVATE_STANDALONE_CONFIG');
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
