// SvelteKit with adapter-node, its current major and the one before: `chaussette build`, its handler
// served on every backend, never its own server. Both bundle kit into the build (kit in devDependencies).
import { afterEach, describe, expect, test } from 'vitest';
import { freePort, killAll, startCli } from '../helpers.js';
import { describeBuild, EXAMPLES, fetchFrom } from './build-check.js';

const MAJORS = [
  { example: 'sveltekit', kit: 3, adapter: 6 },
  { example: 'sveltekit-2', kit: 2, adapter: 5 },
];

for (const { example, kit, adapter } of MAJORS) {
  const cwd = `${EXAMPLES}${example}`;
  const versions = `@sveltejs/kit ${kit}\\.\\d+\\.\\d+, @sveltejs/adapter-node ${adapter}\\.\\d+\\.\\d+`;
  // ORIGIN is the public URL, port included: without it SvelteKit refuses the form POST (see the note below).
  const port = await freePort();

  describeBuild({
    example,
    args: ['--host', '127.0.0.1', '--port', String(port), 'build'],
    // With ORIGIN set, no note follows.
    recognised: new RegExp(`Application is a SvelteKit build \\(build/handler\\.js, ${versions}\\)\\n(?!.*ORIGIN)`),
    env: { ORIGIN: `http://127.0.0.1:${port}` },
  });

  describe(`${example}: the files of its build named directly (built above)`, () => {
    afterEach(killAll);

    test('build/index.js: its handler, and nothing on the PORT its own server would take; ORIGIN unset is noted', async () => {
      const own = await freePort();
      const server = await startCli(['--port', '0', 'build/index.js'], { cwd, env: { PORT: String(own), ORIGIN: undefined } });
      try {
        const output = server.output();
        expect(output).toMatch(new RegExp(`Application is a SvelteKit build \\(build/handler\\.js, ${versions}; not build/index\\.js, which listens on its own\\)`));
        expect(output).toMatch(/\[WARNING\] ORIGIN is not set: .* set ORIGIN to the public URL/);
        const where = server.addresses[0]!;
        expect((await fetchFrom(where, '/')).body).toContain('chaussette example');
        // What the note says: over plain http and without ORIGIN, SvelteKit takes the form for cross-site.
        const posted = await fetchFrom(where, '/form', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: `http://${where}` },
          body: 'name=Ada',
        });
        expect(posted.status).toBe(403);
        await expect(fetchFrom(`127.0.0.1:${own}`, '/')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      } finally {
        expect(await server.stop()).toBe(0);
      }
    });

    test('build/index.js:server, an export of the file that listens: the build all the same, nothing on PORT, and a note', async () => {
      const own = await freePort();
      const server = await startCli(['--port', '0', 'build/index.js:server'], { cwd, env: { PORT: String(own), ORIGIN: 'http://127.0.0.1' } });
      try {
        expect(server.output()).toMatch(/build\/index\.js:server: chaussette serves a SvelteKit build .* itself, whatever the export; name the build alone \(chaussette build\/index\.js\)/);
        expect((await fetchFrom(server.addresses[0]!, '/')).body).toContain('chaussette example');
        await expect(fetchFrom(`127.0.0.1:${own}`, '/')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      } finally {
        expect(await server.stop()).toBe(0);
      }
    });
  });
}
