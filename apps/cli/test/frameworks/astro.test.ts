// Astro with @astrojs/node in standalone mode, its current major and the one before: `chaussette dist`,
// its handler served on every backend, never the server its entry starts on import.
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { freePort, killAll, startCli } from '../helpers.js';
import { describeBuild, EXAMPLES, fetchFrom } from './build-check.js';

// Without allowedDomains, Astro 7 ignores the Host header, and so takes a browser's form POST for
// cross-site; Astro 6 takes the Host header as it comes.
const MAJORS = [
  { example: 'astro', astro: 7, adapter: 11, ignoresHost: true },
  { example: 'astro-6', astro: 6, adapter: 10, ignoresHost: false },
];

for (const { example, astro, adapter, ignoresHost } of MAJORS) {
  const cwd = `${EXAMPLES}${example}`;
  const recognised = (entry: string) =>
    new RegExp(`Application is an Astro build \\(${entry}, astro ${astro}\\.\\d+\\.\\d+, @astrojs/node ${adapter}\\.\\d+\\.\\d+, standalone mode\\)`);

  describeBuild({
    example,
    args: ['dist'],
    // astro.config lists the hosts (security.allowedDomains): no note follows.
    recognised: new RegExp(`${recognised('dist/server/entry\\.mjs').source}\\n(?!.*allowedDomains)`),
  });

  describe(`${example}: its entry named directly (built above)`, () => {
    afterEach(killAll);

    test('dist/server/entry.mjs: its handler, and nothing on the PORT its standalone server would take', async () => {
      const own = await freePort();
      const server = await startCli(['--port', '0', 'dist/server/entry.mjs'], { cwd, env: { PORT: String(own) } });
      try {
        expect(server.output()).toMatch(recognised('dist/server/entry\\.mjs'));
        expect((await fetchFrom(server.addresses[0]!, '/')).body).toContain('chaussette example');
        await expect(fetchFrom(`127.0.0.1:${own}`, '/')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      } finally {
        expect(await server.stop()).toBe(0);
      }
    });

    test('a build without security.allowedDomains is served, with a note saying what that costs', async () => {
      // The same build, its serialized manifest as astro.config without allowedDomains makes it (the
      // adapter finds its files by the name of the server directory: it stays `server`).
      const copy = `${cwd}/dist/without-allowed-domains/server`;
      rmSync(copy, { recursive: true, force: true });
      cpSync(`${cwd}/dist/server`, copy, { recursive: true });
      for (const file of [copy, join(copy, 'chunks')].flatMap((directory) => readdirSync(directory).map((name) => join(directory, name)))) {
        if (!file.endsWith('.mjs')) continue;
        const text = readFileSync(file, 'utf8');
        if (text.includes('"allowedDomains":[')) writeFileSync(file, text.replace(/"allowedDomains":\[[^\]]*\]/, '"allowedDomains":[]'));
      }
      const server = await startCli(['--port', '0', 'dist/without-allowed-domains'], { cwd });
      try {
        expect(server.output()).toMatch(
          ignoresHost
            ? /\[WARNING\] security\.allowedDomains is empty in astro\.config: Astro ignores the Host header, .* form POSTs from browsers get 403/
            : /\[WARNING\] security\.allowedDomains is empty in astro\.config: Astro trusts no X-Forwarded-Host/,
        );
        const where = server.addresses[0]!;
        const posted = await fetchFrom(where, '/form', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: `http://${where}` },
          body: 'name=Ada',
        });
        expect(posted.status).toBe(ignoresHost ? 403 : 200);
      } finally {
        expect(await server.stop()).toBe(0);
      }
    });
  });
}
