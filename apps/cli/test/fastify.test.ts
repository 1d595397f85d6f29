import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { FIXTURES, get, killAll, startCli, startWorkersOnOneSocket, waitForInFlight } from './helpers.js';

afterEach(killAll);

describe('--backend fastify', () => {
  test('a Fastify plugin with a JSON route, on one inherited socket shared by two processes; SIGTERM finishes the request in flight', async () => {
    const { workers, port, where } = await startWorkersOnOneSocket(['fastify-plugin.mjs', '--backend', 'fastify']);
    for (const worker of workers) {
      expect(worker.output()).toContain('Application is a Fastify plugin routes (served natively)');
      expect(worker.output()).toContain('Using the fastify backend');
      expect(worker.addresses).toEqual([`fd://3 (127.0.0.1:${port})`]);
    }
    const pids = new Set<number>();
    for (let attempt = 0; attempt < 200 && pids.size < 2; attempt++) {
      const reply = await get(where, '/orders', { method: 'POST', body: '{"item":"socks"}', headers: { 'content-type': 'application/json' } });
      expect(reply.status).toBe(201);
      const body = JSON.parse(reply.body) as { order: unknown; by: number };
      expect(body.order).toEqual({ item: 'socks' });
      pids.add(body.by);
    }
    expect(pids).toEqual(new Set(workers.map((worker) => worker.child.pid)));

    const slow = get(where, '/slow');
    const busy = await waitForInFlight(workers);
    const exit = busy.stop('SIGTERM');
    const reply = await slow;
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ slow: 'done', by: busy.child.pid });
    expect(await exit).toBe(0);
    const survivor = workers.find((worker) => worker !== busy)!;
    expect(JSON.parse((await get(where)).body)).toEqual({ pid: survivor.child.pid });
    expect(await survivor.stop()).toBe(0);
  });

  test("Fastify's logger is chaussette's: same format and level, no access log lines", async () => {
    const cli = await startCli(['fastify-plugin.mjs', '--backend', 'fastify', '--port', '0']);
    await get(cli.addresses[0]!);
    await cli.stop();
    expect(cli.output()).toMatch(/\[\d{4}-\d\d-\d\d [\d:]+ \+0000\] \[\d+\] \[INFO\] plugin route called/);
    expect(cli.output()).not.toContain('incoming request');
    expect(cli.output()).not.toContain('request completed');
  });

  test('node listeners and fetch apps run on it too', async () => {
    for (const [spec, body] of [
      ['node-listener.cjs', 'node listener saw GET /x'],
      ['hono-app.mjs', 'hello from hono'],
    ] as const) {
      const cli = await startCli([spec, '--backend', 'fastify', '--port', '0']);
      expect((await get(cli.addresses[0]!, spec.startsWith('node') ? '/x' : '/')).body).toBe(body);
      expect(await cli.stop()).toBe(0);
    }
  });

  test('Fastify factory options from the config file (backendOptions): bodyLimit applies to the plugin', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'chaussette-fastify-'));
    try {
      const config = join(directory, 'chaussette.json');
      writeFileSync(config, JSON.stringify({ app: join(FIXTURES, 'fastify-plugin.mjs'), backend: 'fastify', port: 0, backendOptions: { bodyLimit: 32 } }));
      const cli = await startCli(['--config', config]);
      const where = cli.addresses[0]!;
      const json = { 'content-type': 'application/json' };
      expect((await get(where, '/orders', { method: 'POST', body: '{"item":"socks"}', headers: json })).status).toBe(201);
      expect((await get(where, '/orders', { method: 'POST', body: JSON.stringify({ item: 'x'.repeat(64) }), headers: json })).status).toBe(413);
      expect(await cli.stop()).toBe(0);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
