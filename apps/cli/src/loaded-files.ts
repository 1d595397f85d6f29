// In the reloader's child: reports to the reloader every file this process loads, so that it watches
// them wherever they are (an import from outside the app's directory, a local package). ES modules come
// from module hooks, on their own thread; CommonJS modules from require.cache, which has no hook on
// Node 20. node_modules and chaussette's own files are left out: a dependency changes with an install.
import { readFileSync, realpathSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { dirname, isAbsolute, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';

/** How often require.cache is looked at for modules required after start-up (a require() in a handler). */
const REQUIRE_CACHE_POLL_MS = 1000;

const requireCache = createRequire(import.meta.url).cache;

/** Starts reporting; returns the function that sends what is not sent yet (call it before saying it serves). */
export function reportLoadedFiles(): () => void {
  const own = ownDirectories();
  const seen = new Set<string>();
  let unsent: string[] = [];
  const note = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    if (!file.split(sep).includes('node_modules') && !own.some((directory) => file.startsWith(directory))) unsent.push(file);
  };
  const send = () => {
    for (const file of Object.keys(requireCache)) if (isAbsolute(file)) note(file);
    if (unsent.length === 0 || !process.connected) return;
    process.send?.({ chaussette: 'loaded', files: unsent });
    unsent = [];
  };
  let sending: NodeJS.Immediate | undefined;
  onModuleLoaded((file) => {
    note(file);
    sending ??= setImmediate(() => {
      sending = undefined;
      send();
    });
  });
  setInterval(send, REQUIRE_CACHE_POLL_MS).unref();
  return send;
}

function onModuleLoaded(listener: (file: string) => void): void {
  if (typeof register !== 'function') return; // Node 20 before 20.6: CommonJS only
  const { port1, port2 } = new MessageChannel();
  port1.on('message', (url: string) => listener(fileURLToPath(url)));
  port1.unref();
  register(new URL('./loaded-files-hook.js', import.meta.url), { data: { port: port2 }, transferList: [port2] });
}

/** Where chaussette's code is: this CLI's, and its @chaussette packages' (in a workspace, not under node_modules). */
function ownDirectories(): string[] {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };
  const packages = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies }).filter((name) => name.startsWith('@chaussette/'));
  const entries = packages.flatMap((name) => {
    try {
      return [realpathSync(fileURLToPath(import.meta.resolve(name)))];
    } catch {
      return []; // an optional backend not installed
    }
  });
  const cli = [new URL('./', import.meta.url), new URL('../bin/', import.meta.url)].map((url) => realpathSync(fileURLToPath(url)));
  return [...cli, ...entries.map(dirname)].map((directory) => directory + sep);
}
