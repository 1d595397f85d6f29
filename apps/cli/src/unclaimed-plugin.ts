import { type App, ChaussetteError, looksLikeFastifyPlugin } from '@chaussette/core';

/**
 * A Fastify plugin that no installed backend claimed (the Fastify backend serves plugins, and makes
 * them node listeners for the others) would be taken for a listener or a fetch handler and answer every
 * request with a 500: refused at start-up, naming the backend to install.
 */
export function refuseUnclaimedPlugin(app: App, label: string, installCommand: string): void {
  if (!looksLikeFastifyPlugin(app.source) || app.description.includes('Fastify')) return;
  throw new ChaussetteError(
    `${label} is a Fastify plugin, and no installed backend serves one: run \`${installCommand} @chaussette/backend-fastify\`, then pass --backend fastify (or keep your backend: the plugin is then served through Fastify)`,
  );
}
