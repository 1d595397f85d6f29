import { createServer } from 'node:net';
import { describe, expect, test } from 'vitest';
import { acquireListenTargets } from './acquire.js';

const fallback = { host: 'localhost', port: 8080 };

async function canBindIpv6Loopback(): Promise<boolean> {
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
const loopbacks = (await canBindIpv6Loopback()) ? ['127.0.0.1', '::1'] : ['127.0.0.1'];

describe('acquireListenTargets: localhost is every loopback address (::1 only where this machine has IPv6)', () => {
  test.each([
    ['the fallback', { backlog: 511, fallback }, 8080],
    ['--host localhost', { host: 'LocalHost', port: 0, backlog: 511, fallback }, 0],
    ['--bind localhost:PORT', { bind: ['localhost:9000'], backlog: 511, fallback }, 9000],
  ])('%s', async (_name, request, port) => {
    expect(await acquireListenTargets(request)).toEqual(loopbacks.map((host) => ({ type: 'tcp', host, port, backlog: 511 })));
  });

  test('--reuse-port applies to each', async () => {
    const targets = await acquireListenTargets({ backlog: 511, reusePort: true, fallback });
    expect(targets.map((target) => target.type === 'tcp' && target.reusePort)).toEqual(loopbacks.map(() => true));
  });

  test('an IP address, or a repeated --bind, is one target each', async () => {
    const targets = await acquireListenTargets({ bind: ['127.0.0.1:0', '[::1]:0', 'localhost:1'], backlog: 511, fallback });
    expect(targets.map((target) => target.type === 'tcp' && `${target.host} ${target.port}`)).toEqual(['127.0.0.1 0', '::1 0', ...loopbacks.map((host) => `${host} 1`)]);
  });
});
