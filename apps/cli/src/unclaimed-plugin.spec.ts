import type { App } from '@chaussette/core';
import { describe, expect, test } from 'vitest';
import { refuseUnclaimedPlugin } from './unclaimed-plugin.js';

// What core's detection makes of a function no backend claimed: one parameter, a fetch handler.
const asFetchHandler = (source: unknown): App => ({ kind: 'fetch', description: 'async function default (fetch handler)', source, fetch: () => new Response('') });

describe('refuseUnclaimedPlugin', () => {
  test.each([
    ['a plugin whose first parameter is named fastify', async function (fastify: unknown) {
      return fastify;
    }],
    ['an arrow plugin taking app', async (app: unknown) => app],
    // fastify-plugin's mark on the functions it wraps
    ['a plugin wrapped by fastify-plugin', Object.assign(async () => {}, { [Symbol.for('skip-override')]: true })],
  ])('%s, taken for a fetch handler, is refused with the install command', (_name, plugin) => {
    expect(() => refuseUnclaimedPlugin(asFetchHandler(plugin), 'plugin.mjs', 'npm install')).toThrow(
      'plugin.mjs is a Fastify plugin, and no installed backend serves one: run `npm install @chaussette/backend-fastify`',
    );
  });

  test('a fetch handler taking a request is served', () => {
    expect(() => refuseUnclaimedPlugin(asFetchHandler(async (request: Request) => new Response(request.url)), 'app.mjs', 'npm install')).not.toThrow();
  });

  test('a plugin a backend claimed (the Fastify backend, natively or through Fastify) is served', () => {
    const claimed: App = { ...asFetchHandler(async (fastify: unknown) => fastify), description: 'a Fastify plugin routes (served natively)' };
    expect(() => refuseUnclaimedPlugin(claimed, 'plugin.mjs', 'npm install')).not.toThrow();
  });
});
