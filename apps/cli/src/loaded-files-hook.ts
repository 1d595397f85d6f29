// The module hooks of the reloader's child, registered by loaded-files.ts: each file the ES module loader
// loads (an import, a dynamic import(), a CommonJS or JSON module imported) goes to its main thread.
import type { InitializeHook, LoadHook } from 'node:module';
import type { MessagePort } from 'node:worker_threads';

let port: MessagePort | undefined;

export const initialize: InitializeHook<{ port: MessagePort }> = (data) => {
  port = data.port;
};

export const load: LoadHook = async (url, context, nextLoad) => {
  const loaded = await nextLoad(url, context);
  if (url.startsWith('file:')) port?.postMessage(url);
  return loaded;
};
