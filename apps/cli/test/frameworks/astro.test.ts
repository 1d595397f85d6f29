// Astro 5 with @astrojs/node in standalone mode: `chaussette dist`, its handler served on every backend,
// never the server its entry starts on import.
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { freePort, killAll, startCli } from '../helpers.js';
import { describeBuild, EXAMPLES, fetchFrom } from './build-check.js';

const cwd = `${EXAMPLES}astro`;

describeBuild({
  example: 'astro',
  args: ['dist'],
  // astro.config lists the hosts (security.allowedDomains): no note follows.
  recognised: /Application is an Astro build \(dist\/server\/entry\.mjs, @astrojs\/node in standalone mode\)\n(?!.*allowedDomains)/,
});

describe('astro: its entry named directly (built above)', () => {
  afterEach(killAll);

  test('dist/server/entry.mjs: its handler, and nothing on the PORT its standalone server would take', async () => {
    const own = await freePort();
    const server = await startCli(['--port', '0', 'dist/server/entry.mjs'], { cwd, env: { PORT: String(own) } });
    try {
      expect(server.output()).toMatch(/Application is an Astro build \(dist\/server\/entry\.mjs, @astrojs\/node in standalone mode\)/);
      expect((await fetchFrom(server.addresses[0]!, '/')).body).toContain('chaussette example');
      await expect(fetchFrom(`127.0.0.1:${own}`, '/')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  test('a build without security.allowedDomains is served, with a note saying what that costs', async () => {
    // The same build, its manifest as astro.config without allowedDomains makes it (the adapter finds its
    // files by the name of the server directory: it stays `server`).
    const copy = `${cwd}/dist/without-allowed-domains/server`;
    rmSync(copy, { recursive: true, force: true });
    cpSync(`${cwd}/dist/server`, copy, { recursive: true });
    const manifest = `${copy}/${readdirSync(copy).find((file) => file.startsWith('manifest_'))}`;
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(/"allowedDomains":\[[^\]]*\]/, '"allowedDomains":[]'));
    const server = await startCli(['--port', '0', 'dist/without-allowed-domains'], { cwd });
    try {
      expect(server.output()).toMatch(/\[WARNING\] security\.allowedDomains is empty in astro\.config: .* form POSTs from browsers get 403/);
      const where = server.addresses[0]!;
      const posted = await fetchFrom(where, '/form', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: `http://${where}` },
        body: 'name=Ada',
      });
      expect(posted.status).toBe(403);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
