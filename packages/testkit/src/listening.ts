// The kit's listen targets: IPv6 loopback, a unix socket (its file removed on close), a port another
// server holds (refused, never shared), and peer credentials on a unix socket when the backend has them.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ListenTarget, type RunningServer, startServer } from '@chaussette/core';
import { describe, expect } from 'vitest';
import { appFor, createFixtureApps, HELLO } from './apps.js';
import { request } from './client.js';
import { type Kit, loopback, recordingLogger } from './kit.js';
import { kitTest } from './known-failures.js';
import { listeningServer } from './processes.js';

type WithServer = (target: ListenTarget, check: (server: RunningServer) => Promise<void>) => Promise<void>;

export function describeListening(kit: Kit): void {
  describe('listening', () => {
    const withServer: WithServer = async (target, check) => {
      const backend = kit.backend();
      const server = await startServer({ app: appFor(backend, createFixtureApps()), backend, targets: [target], logger: recordingLogger(), backendOptions: kit.options.backendOptions });
      try {
        await check(server);
      } finally {
        await server.close(1000);
      }
    };
    addressCases(withServer);
    addressInUseCase(withServer);
    peerCredentialsCase(kit);
  });
}

function addressCases(withServer: WithServer): void {
  kitTest('on IPv6 loopback, reporting [::1] and the port', async (context) => {
    if (!(await hasIPv6Loopback())) context.skip('this machine has no IPv6 loopback (::1)');
    await withServer({ type: 'tcp', host: '::1', port: 0, backlog: 511 }, async (server) => {
      const { bound, address } = server.listening[0]!;
      expect(bound).toMatchObject({ type: 'tcp', host: '::1' });
      expect(address).toMatch(/^\[::1\]:\d+$/);
      expect((await request(bound, '/')).body.toString()).toBe(HELLO);
    });
  });

  kitTest('on a unix socket, removing the socket file on close', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'chaussette-kit-'));
    const path = join(directory, 'app.sock');
    try {
      await withServer({ type: 'unix', path, backlog: 511 }, async (server) => {
        expect(server.listening[0]!.address).toBe(`unix:${path}`);
        expect((await request({ type: 'unix', path }, '/')).body.toString()).toBe(HELLO);
      });
      expect(existsSync(path)).toBe(false);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
}

function addressInUseCase(withServer: WithServer): void {
  kitTest('not on a port another server holds, even one of its own kind: EADDRINUSE, not a shared port', async () => {
    const holder = await listeningServer();
    try {
      const port = (holder.address() as { port: number }).port;
      await expect(withServer(loopback(port), async () => {})).rejects.toThrow(`Cannot listen on 127.0.0.1:${port}: the address is already in use`);
    } finally {
      holder.close();
    }
    // Engines that set SO_REUSEPORT on their own (uSockets does, on a port asked by number) would
    // share a port with each other.
    const free = await listeningServer();
    const port = (free.address() as { port: number }).port;
    await new Promise((resolve) => free.close(resolve));
    await withServer(loopback(port), async () => {
      await expect(withServer(loopback(port), async () => {})).rejects.toThrow(`Cannot listen on 127.0.0.1:${port}: the address is already in use`);
    });
  });
}

function peerCredentialsCase(kit: Kit): void {
  kitTest('with peerCredentials, on a unix socket: the app sees the client\'s pid, uid and gid (if the backend supports it)', async (context) => {
    const backend = kit.backend();
    if (!backend.supports?.peerCredentials) context.skip(`the ${backend.name} backend does not list peerCredentials in supports`);
    const directory = mkdtempSync(join(tmpdir(), 'chaussette-kit-'));
    const path = join(directory, 'app.sock');
    try {
      for (const kind of backend.appKinds) {
        const server = await startServer({ app: createFixtureApps()[kind], backend, targets: [{ type: 'unix', path, backlog: 511 }], logger: recordingLogger(), backendOptions: kit.options.backendOptions, peerCredentials: true });
        try {
          // This process is the client.
          const response = await request({ type: 'unix', path }, '/peer-credentials');
          expect(JSON.parse(response.body.toString())).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
        } finally {
          await server.close(1000);
        }
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
}

async function hasIPv6Loopback(): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}
