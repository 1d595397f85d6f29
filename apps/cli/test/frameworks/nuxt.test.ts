import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type CliProcess, expectOneLineError, freePort, runCli, startCli } from '../helpers.js';
import { BACKENDS, describeBuild, EXAMPLES, fetchFrom } from './build-check.js';

// Nuxt's telemetry would ask for consent, and send, over the network.
const env = { NUXT_TELEMETRY_DISABLED: '1' };

// Nuxt 4 and Nuxt 3, both on Nitro 2 (nitropack).
const MAJORS = [
  { example: 'nuxt', nuxt: 4 },
  { example: 'nuxt-3', nuxt: 3 },
];

for (const { example, nuxt } of MAJORS) {
  const cwd = `${EXAMPLES}${example}`;
  const recognised = (entry: string) => new RegExp(`Application is a Nuxt ${nuxt}\\.\\d+\\.\\d+ build \\(${entry}, Nitro 2\\.\\d+\\.\\d+ node-listener preset\\)`);

  describeBuild({ example, args: ['.output'], recognised: recognised('\\.output/server/index\\.mjs'), env });

  // The build above, named by its entry file, with the port Nitro's own server would take set.
  describe.each(BACKENDS)(`${example}: .output/server/index.mjs on the %s backend`, (backend) => {
    let server: CliProcess;
    let nitroPort: number;
    beforeAll(async () => {
      nitroPort = await freePort();
      const ports = { PORT: String(nitroPort), NITRO_PORT: String(nitroPort) };
      server = await startCli(['--backend', backend, '--port', '0', '.output/server/index.mjs'], { cwd, env: { ...env, ...ports } });
    }, 60_000);
    afterAll(async () => {
      if (server) expect(await server.stop()).toBe(0);
    });

    test('is served the same way, and Nitro listens on no port of its own', async () => {
      expect(server.output()).toMatch(recognised('\\.output/server/index\\.mjs'));
      expect(server.output()).not.toMatch(/WARNING/);
      const where = server.addresses[0]!;
      expect((await fetchFrom(where, '/')).body).toContain('chaussette example');
      expect(JSON.parse((await fetchFrom(where, '/api/hello')).body)).toEqual({ hello: 'nuxt' });
      expect(await refusesConnections(nitroPort)).toBe(true);
    });
  });
}

describe('nuxt: builds chaussette cannot serve as they are', () => {
  afterAll(() => {
    for (const directory of made.splice(0)) rmSync(directory, { recursive: true, force: true });
  });

  test('the default node-server preset is refused in one line, saying how to build', async () => {
    // nitro.json as `nuxt build` writes it; the entry listens on import, as node-server's does.
    const output = nitroOutput({ preset: 'node-server', commands: { preview: 'node server/index.mjs' } });
    writeFileSync(join(output, 'server/index.mjs'), "import { createServer } from 'node:http';\ncreateServer().listen(3000);\nexport default {};\n");
    const result = await runCli(['--port', '0', '.output'], { cwd: join(output, '..') });
    expectOneLineError(result, /^chaussette: error: \.output is a Nuxt 4\.6\.4 build with Nitro 2\.13\.6's node-server preset, which listens on a port of its own; build it with the node-listener preset: nitro: \{ preset: 'node-listener', serveStatic: true \} in nuxt\.config\.ts, or NITRO_PRESET=node-listener nuxt build/);
  });

  test('a node-listener build without serveStatic is served, with a warning that names the setting', async () => {
    const output = nitroOutput({ preset: 'node-listener', commands: {} });
    writeFileSync(join(output, 'server/index.mjs'), "export const listener = (req, res) => res.end('ok');\nexport const handler = listener;\n");
    mkdirSync(join(output, 'public'));
    writeFileSync(join(output, 'public/static.txt'), 'static asset\n');
    const server = await startCli(['--port', '0', '.output'], { cwd: join(output, '..') });
    try {
      expect(server.output()).toMatch(/WARNING\] \.output\/public is not served: Nitro's node-listener preset serves it only when built with nitro: \{ serveStatic: true \} in nuxt\.config\.ts/);
      expect((await fetchFrom(server.addresses[0]!, '/')).body).toBe('ok');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

const made: string[] = [];

/** A `.output` directory in a fresh temporary directory, with nitro.json as Nuxt 4.6 writes it. */
function nitroOutput(info: { preset: string; commands: Record<string, string> }): string {
  const directory = mkdtempSync(join(tmpdir(), 'chaussette-nuxt-'));
  made.push(directory);
  const output = join(directory, '.output');
  mkdirSync(join(output, 'server'), { recursive: true });
  const nitroJson = { date: new Date().toJSON(), preset: info.preset, framework: { name: 'nuxt', version: '4.6.4' }, versions: { nitro: '2.13.6' }, commands: info.commands, config: {} };
  writeFileSync(join(output, 'nitro.json'), JSON.stringify(nitroJson, null, 2));
  return output;
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}
