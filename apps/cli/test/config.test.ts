import { afterEach, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectOneLineError, FIXTURES, get, killAll, listeningSocket, runCli, startCli } from './helpers.js';

afterEach(killAll);

describe('--config', () => {
  test('a JSON file gives the options; flags given on the command line win over them', async () => {
    // The file names a port that is taken: used as it is, it fails; --port 0 overrides it.
    const { server, port } = await listeningSocket();
    const directory = mkdtempSync(join(tmpdir(), 'chaussette-config-'));
    const config = join(directory, 'chaussette.json');
    writeFileSync(config, JSON.stringify({ app: join(FIXTURES, 'fetch-workers.mjs'), host: '127.0.0.1', port, gracefulTimeout: 5 }));
    try {
      expectOneLineError(await runCli(['-c', config]), `Cannot listen on 127.0.0.1:${port}: the address is already in use`);
      const cli = await startCli(['--config', config, '--port', '0']);
      expect(cli.addresses).toHaveLength(1);
      expect(cli.addresses[0]).toMatch(/^127\.0\.0\.1:\d+$/); // the host came from the file
      expect(cli.addresses[0]).not.toBe(`127.0.0.1:${port}`);
      expect(JSON.parse((await get(cli.addresses[0]!)).body)).toEqual({ pid: cli.child.pid });
      expect(await cli.stop()).toBe(0);
    } finally {
      server.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  test('a TypeScript module, for a TypeScript app', async () => {
    const cli = await startCli(['--config', 'chaussette.config.ts']);
    const reply = JSON.parse((await get(cli.addresses[0]!, '/x')).body) as unknown;
    expect(reply).toEqual({ text: 'hello from typescript', language: 'en', path: '/x' });
    expect(await cli.stop()).toBe(0);
  });

  test('unknown keys are an error that names them', async () => {
    expectOneLineError(await runCli(['--config', 'bad-keys.config.json']), '--config bad-keys.config.json: unknown keys "workers", "prot". Known keys: app, arguments, mounts, host, port');
  });

  test('a missing file, and a value of the wrong type', async () => {
    expectOneLineError(await runCli(['--config', 'nope.json']), '--config nope.json: no such file');
    expectOneLineError(await runCli(['--config', 'not-an-app.mjs']), '--config not-an-app.mjs must hold an object of options');
  });

  test('its values are checked as the flags are, before the app loads', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'chaussette-config-'));
    const config = join(directory, 'chaussette.json');
    try {
      for (const [values, message] of [
        [{ forwardedAllowIps: '10.0.0.1,proxy.internal' }, 'Invalid --forwarded-allow-ips "proxy.internal" (expected IP addresses or networks (10.0.0.0/8) separated by commas, unix for peers on a unix socket, or * for every peer)'],
        [{ port: 70000 }, 'Invalid --port "70000" (expected an integer from 0 to 65535)'],
      ] as const) {
        writeFileSync(config, JSON.stringify({ app: join(FIXTURES, 'express-app.cjs'), ...values }));
        const result = await runCli(['--config', config], { env: { NODE_ENV: undefined } });
        expectOneLineError(result, message);
        expect(result.stdout).toBe('');
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('TypeScript apps', () => {
  test('chaussette app.ts serves it (type stripping from Node 22.18, tsx before)', async () => {
    const cli = await startCli(['typed-app.ts', '--port', '0']);
    expect(JSON.parse((await get(cli.addresses[0]!)).body)).toMatchObject({ text: 'hello from typescript' });
    expect(await cli.stop()).toBe(0);
  });
});
