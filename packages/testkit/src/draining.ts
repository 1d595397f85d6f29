// The conformance kit's stops under load, as the clients in front of a worker see them: a reverse
// proxy's kept connections sending back to back, pipelining clients and new connections, while the
// server closes alone or one of several workers on one inherited socket stops. No request that reached
// a server may go unanswered, unless an earlier answer on its connection said `Connection: close`.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { linkSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect } from 'vitest';
import { type AppKind, type Backend, type BoundAddress, type ListenTarget, startServer } from '@chaussette/core';
import { appFor, createFixtureApps } from './apps.js';
import { kitTest } from './known-failures.js';
import { type LoadOptions, type LoadResult, startLoad } from './load.js';
import { lineReader, listeningServer, socketFd } from './processes.js';

export interface DrainingOptions {
  backend: string;
  searchFrom: string[];
  backendOptions?: Record<string, unknown>;
}

const APP_KINDS: AppKind[] = ['node', 'fetch'];
const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };
const MIXED_LOAD: LoadOptions = { newConnection: 2, keepAlive: 4, pipelined: 2, pipelineDepth: 4 };

/** No failure, and some of each kind of client answered. */
function expectNoLoss(result: LoadResult): void {
  expect(result.errors).toEqual([]);
  expect(result.failed).toBe(0);
  expect(result.byKind['keep-alive'].ok).toBeGreaterThan(0);
  expect(result.byKind.pipelined.ok).toBeGreaterThan(0);
}

/** Closes the test's copy of a listening socket whose fd a child holds, keeping a unix socket's file (node:net removes it). */
async function handOver(server: Server): Promise<void> {
  const path = server.address();
  if (typeof path === 'string') linkSync(path, `${path}.kept`);
  server.close();
  await once(server, 'close');
  if (typeof path === 'string') renameSync(`${path}.kept`, path);
}

export function describeDraining(getBackend: () => Backend, options: DrainingOptions): void {
  describe('stopping under load', () => {
    for (const kind of APP_KINDS) {
      kitTest(`${kind} app: a server closing under keep-alive, pipelined and new-connection load answers every request it read`, async (context) => {
        const backend = getBackend();
        if (!backend.appKinds.includes(kind)) context.skip(`the ${backend.name} backend does not serve ${kind} apps`);
        const target: ListenTarget = { type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 };
        const server = await startServer({ app: createFixtureApps()[kind], backend, targets: [target], logger: quietLogger, backendOptions: options.backendOptions });
        const load = startLoad(server.listening[0]!.bound, MIXED_LOAD);
        await load.answered(500);
        // Connections the server never accepted are the kernel's to refuse: only those it holds are judged.
        load.onlyKeptConnections();
        await new Promise((resolve) => setTimeout(resolve, 50));
        const closed = server.close(10_000);
        const result = await load.done;
        await closed;
        expectNoLoss(result);
        // The kept connections were told to go, not cut.
        expect(result.closedByServer).toBeGreaterThanOrEqual(1);
      }, 20_000);
    }

    for (const family of ['tcp', 'unix']) {
      kitTest(
        `workers on one inherited ${family} socket, stopped and replaced one by one under keep-alive, pipelined and new-connection load: no request lost`,
        async () => {
          const directory = mkdtempSync(join(tmpdir(), 'chaussette-kit-drain-'));
          const parent = await listeningServer(family === 'unix' ? join(directory, 'kit.sock') : undefined);
          const address = parent.address();
          const bound: BoundAddress = typeof address === 'string' ? { type: 'unix', path: address } : { type: 'tcp', host: '127.0.0.1', port: address!.port };
          const fdChild = fileURLToPath(new URL('./fd-child.js', import.meta.url));
          const manager = spawn(
            process.execPath,
            [fileURLToPath(new URL('./manager.js', import.meta.url)), process.execPath, fdChild, options.backend, JSON.stringify(options.searchFrom), appFor(getBackend(), undefined), JSON.stringify(options.backendOptions ?? {})],
            { stdio: ['pipe', 'pipe', 'inherit', socketFd(parent)] },
          );
          await handOver(parent); // the manager holds the socket, and never accepts on it
          const events = lineReader(manager.stdout!);
          const say = (line: string) => manager.stdin!.write(`${line}\n`);
          try {
            say('start');
            say('start');
            expect([await events.next(), await events.next()].sort()).toEqual([expect.stringMatching(/^0: listening /), expect.stringMatching(/^1: listening /)]);
            const load = startLoad(bound, MIXED_LOAD);
            let answered = 0;
            for (const [stopped, started] of [[0, 2], [1, 3]]) {
              await load.answered((answered += 300));
              say(`stop ${stopped}`);
              expect(await events.next()).toBe(`exited ${stopped} 0`);
              say('start');
              expect(await events.next()).toMatch(new RegExp(`^${started}: listening `));
            }
            await load.answered((answered += 300)); // the new workers serve
            expectNoLoss(await load.stop());
          } finally {
            manager.stdin!.end(); // the manager stops its workers and exits
            await Promise.race([once(manager, 'exit'), new Promise((resolve) => setTimeout(resolve, 2000))]);
            manager.kill('SIGKILL');
            rmSync(directory, { recursive: true, force: true });
          }
        },
        30_000,
      );
    }
  });
}
