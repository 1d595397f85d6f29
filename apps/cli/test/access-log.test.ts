import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { get, killAll, runCli, skipUnlessServable, startCli } from './helpers.js';

afterEach(killAll);

const waitForLines = async (file: string, count: number) => {
  for (let attempt = 0; attempt < 100; attempt++) {
    const lines = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
    if (lines.length >= count) return lines;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`fewer than ${count} lines in ${file}`);
};

describe.each(['node', 'fastify', 'uws'])('--access-log and --proxy-headers, --backend %s', (backend) => {
  beforeEach((context) => skipUnlessServable(backend, context));
  test('Combined Log Format lines; X-Forwarded-For is believed from 127.0.0.1 only with --proxy-headers', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'chaussette-access-'));
    try {
      const log = join(directory, 'access.log');
      const proxied = await startCli(['fetch-workers.mjs', '--port', '0', '--backend', backend, '--access-log', log, '--proxy-headers']);
      await get(proxied.addresses[0]!, '/a?b=1', { headers: { 'x-forwarded-for': '203.0.113.7', referer: 'http://example.com/', 'user-agent': 'test "agent"' } });
      await get(proxied.addresses[0]!, '/slow', { method: 'POST', body: 'x' });
      const [first, second] = await waitForLines(log, 2);
      expect(first).toMatch(
        /^203\.0\.113\.7 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/a\?b=1 HTTP\/1\.1" 200 \d+ "http:\/\/example\.com\/" "test \\"agent\\""$/,
      );
      expect(second).toMatch(/^127\.0\.0\.1 - - \[.+\] "POST \/slow HTTP\/1\.1" 200 \d+ "-" "-"$/);
      expect(await proxied.stop()).toBe(0);

      const common = join(directory, 'common.log');
      const direct = await startCli(['fetch-workers.mjs', '--port', '0', '--backend', backend, '--access-log', common, '--access-log-format', 'common']);
      await get(direct.addresses[0]!, '/', { headers: { 'x-forwarded-for': '203.0.113.7' } });
      const [line] = await waitForLines(common, 1);
      expect(line).toMatch(/^127\.0\.0\.1 - - \[.+\] "GET \/ HTTP\/1\.1" 200 \d+$/); // not believed without --proxy-headers
      expect(await direct.stop()).toBe(0);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  test('behind a proxy on a unix socket, X-Forwarded-For is believed by default; over TCP, from a trusted network (CIDR)', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'chaussette-access-'));
    try {
      const log = join(directory, 'access.log');
      const forwarded = { headers: { 'x-forwarded-for': '203.0.113.7' } };
      const onUnixSocket = await startCli(['fetch-workers.mjs', '--bind', `unix:${join(directory, 'web.sock')}`, '--backend', backend, '--access-log', log, '--proxy-headers']);
      await get(onUnixSocket.addresses[0]!, '/', forwarded);
      expect(await onUnixSocket.stop()).toBe(0);
      const inNetwork = await startCli(['fetch-workers.mjs', '--port', '0', '--backend', backend, '--access-log', log, '--proxy-headers', '--forwarded-allow-ips', '10.0.0.0/8,127.0.0.0/8']);
      await get(inNetwork.addresses[0]!, '/', forwarded);
      expect(await inNetwork.stop()).toBe(0);
      const outOfNetwork = await startCli(['fetch-workers.mjs', '--port', '0', '--backend', backend, '--access-log', log, '--proxy-headers', '--forwarded-allow-ips', '10.0.0.0/8']);
      await get(outOfNetwork.addresses[0]!, '/', forwarded);
      expect(await outOfNetwork.stop()).toBe(0);
      const hosts = (await waitForLines(log, 3)).map((line) => line.split(' ')[0]);
      expect(hosts).toEqual(['203.0.113.7', '203.0.113.7', '127.0.0.1']);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

test('--forwarded-allow-ips must be IP addresses, networks, unix or *', async () => {
  const result = await runCli(['--port', '0', '--proxy-headers', '--forwarded-allow-ips', 'proxy.local']);
  expect(result.code).toBe(1);
  expect(result.stderr.trim()).toBe('chaussette: error: Invalid --forwarded-allow-ips "proxy.local" (expected IP addresses or networks (10.0.0.0/8) separated by commas, unix for peers on a unix socket, or * for every peer)');
});
