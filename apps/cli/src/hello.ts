import type { App } from '@chaussette/core';

const body = 'Hello world!\n';

/** Served when no application is named, like Chaussette's own hello app. */
export const helloApp: App = {
  kind: 'fetch',
  fetch: () => new Response(body, { headers: { 'content-type': 'text/plain; charset=utf-8' } }),
  description: 'the built-in hello app (fetch handler)',
  source: undefined,
};
