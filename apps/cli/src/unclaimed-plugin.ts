import { type App, ChaussetteError } from '@chaussette/core';

// What fastify-plugin marks the functions it wraps with.
const FASTIFY_PLUGIN_MARKS = [Symbol.for('skip-override'), Symbol.for('fastify.display-name'), Symbol.for('plugin-meta')];

/**
 * A Fastify plugin that no installed backend claimed (the Fastify backend serves plugins, and makes
 * them node listeners for the others) would be taken for a (req, res) listener and answer every request
 * with a 500: refused at start-up, naming the backend to install.
 */
export function refuseUnclaimedPlugin(app: App, label: string, installCommand: string): void {
  const source = app.source;
  if (typeof source !== 'function' || !FASTIFY_PLUGIN_MARKS.some((mark) => mark in source)) return;
  if (app.description.includes('Fastify')) return;
  throw new ChaussetteError(
    `${label} is a Fastify plugin, and no installed backend serves one: run \`${installCommand} @chaussette/backend-fastify\`, then pass --backend fastify (or keep your backend: the plugin is then served through Fastify)`,
  );
}
