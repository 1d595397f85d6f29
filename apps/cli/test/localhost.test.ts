import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { expectOneLineError, freePort, get, killAll, runCli, skipUnlessServable, startCli } from './helpers.js';

afterEach(killAll);

/** Whether this machine can bind ::1 (a container without IPv6 cannot: chaussette then binds 127.0.0.1 alone). */
async function hasIpv6Loopback(): Promise<boolean> {
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, '::1', resolve));
    return true;
  } catch {
    return false;
  } finally {
    probe.close();
  }
}
const ipv6 = await hasIpv6Loopback();

// curl and browsers try ::1 for localhost as well as 127.0.0.1: chaussette answers on both, as most servers do.
describe.each(['node', 'fastify', 'uws'])('localhost is 127.0.0.1 and ::1, --backend %s', (backend) => {
  beforeEach((context) => skipUnlessServable(backend, context));

  test.skipIf(!ipv6)('the default host with --port 0: one port on both addresses, each answering', async () => {
    const cli = await startCli(['--backend', backend, '--port', '0']);
    const port = /^127\.0\.0\.1:(\d+)$/.exec(cli.addresses[0] ?? '')?.[1];
    expect(cli.addresses).toEqual([`127.0.0.1:${port}`, `[::1]:${port}`]);
    for (const where of cli.addresses) expect((await get(where)).status).toBe(200);
    expect(await cli.stop()).toBe(0);
  });

  test.skipIf(!ipv6)('-b localhost:PORT', async () => {
    const port = await freePort();
    const cli = await startCli(['--backend', backend, '-b', `localhost:${port}`]);
    expect(cli.addresses).toEqual([`127.0.0.1:${port}`, `[::1]:${port}`]);
    expect((await get(`[::1]:${port}`)).status).toBe(200);
    expect(await cli.stop()).toBe(0);
  });
});

test.skipIf(!ipv6)('with --use-reloader too: --port 0 is one port on both addresses, each answering', async () => {
  const cli = await startCli(['--use-reloader', '--port', '0']);
  // The child serves on the sockets the reloader holds: `fd://3 (127.0.0.1:PORT)`.
  const served = cli.addresses.map((address) => /^fd:\/\/\d+ \((.+)\)$/.exec(address)?.[1]);
  const port = /^127\.0\.0\.1:(\d+)$/.exec(served[0] ?? '')?.[1];
  expect(served).toEqual([`127.0.0.1:${port}`, `[::1]:${port}`]);
  for (const where of served) expect((await get(where!)).status).toBe(200);
  expect(await cli.stop()).toBe(0);
});

test.skipIf(!ipv6)('another server on [::1]:PORT: localhost:PORT is refused in one line, as 127.0.0.1:PORT would be', async () => {
  const other = createServer().listen(0, '::1');
  await once(other, 'listening');
  const { port } = other.address() as { port: number };
  try {
    expectOneLineError(await runCli(['--host', 'localhost', '--port', String(port)]), `Cannot listen on [::1]:${port}: the address is already in use`);
  } finally {
    other.close();
  }
});

test('an IP address or another name is one socket, as before', async () => {
  const cli = await startCli(['--host', '127.0.0.1', '--port', '0']);
  expect(cli.addresses).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$/)]);
  expect(await cli.stop()).toBe(0);
});
