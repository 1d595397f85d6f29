// The kit's graceful close: ServerHandle.close() refuses new connections, finishes the requests in
// flight, closes idle keep-alive connections, cuts what outlives the timeout, and may be called twice.
import { once } from 'node:events';
import { startServer } from '@chaussette/core';
import { describe, expect } from 'vitest';
import { appFor, createFixtureApps } from './apps.js';
import { canConnect, keepAliveAgent, request } from './client.js';
import { type Kit, loopback, recordingLogger } from './kit.js';
import { kitTest } from './known-failures.js';

export function describeGracefulClose(kit: Kit): void {
  describe('graceful close', () => {
    inFlightCase(kit);
    timeoutCases(kit);
  });
}

/** A server of the fixture app the backend serves (fetch, if it takes both). */
async function serveApp(kit: Kit) {
  const backend = kit.backend();
  const fixtures = createFixtureApps();
  const server = await startServer({ app: appFor(backend, fixtures), backend, targets: [loopback()], logger: recordingLogger(), backendOptions: kit.options.backendOptions });
  return { server, fixtures, address: server.listening[0]!.bound };
}

function inFlightCase(kit: Kit): void {
  kitTest('refuses new connections, finishes the in-flight request, closes idle keep-alive connections', async () => {
    const { server, fixtures, address } = await serveApp(kit);
    const agent = keepAliveAgent({ maxSockets: 1 });
    const idle = await request(address, '/', { agent });
    expect(idle.status).toBe(200);
    const idleClosed = new Promise((resolve) => Object.values(agent.freeSockets).flat()[0]?.once('close', resolve));

    const started = once(fixtures.events, 'slow-started');
    const slowAgent = keepAliveAgent();
    const slow = request(address, '/slow?ms=300', { agent: slowAgent });
    await started;
    const closed = server.close(10_000);
    expect(await canConnect(address)).toBe(false);
    const response = await slow;
    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe('slow done');
    expect(response.headers.connection).toBe('close'); // the client will not reuse a closing connection
    await idleClosed;
    await closed; // well before the 10 s deadline: nothing is left open
    agent.destroy();
    slowAgent.destroy();
  });
}

function timeoutCases(kit: Kit): void {
  kitTest("closes a request that outlives the timeout, then runs the app's close hook once", async () => {
    const { server, fixtures, address } = await serveApp(kit);
    let appCloses = 0;
    fixtures.events.on('app-closed', () => appCloses++);
    const started = once(fixtures.events, 'slow-started');
    const endless = request(address, '/slow?ms=60000').then(
      () => 'answered',
      () => 'cut',
    );
    await started;
    await Promise.all([server.close(200), server.close(200)]);
    expect(await endless).toBe('cut');
    expect(appCloses).toBe(1);
  });

  kitTest("the backend's close() may be called twice, and both calls resolve", async () => {
    const backend = kit.backend();
    const handle = await backend.serve(appFor(backend, createFixtureApps()), loopback(), { logger: recordingLogger(), backendOptions: kit.options.backendOptions });
    const results = await Promise.allSettled([handle.close(200), handle.close(200)]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(await canConnect(handle.address)).toBe(false);
  });
}
