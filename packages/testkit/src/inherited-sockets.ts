// The kit's inherited socket: a child process (fd-child.js) serves on the listening socket it inherited
// as fd 3, as under a process manager or systemd, and finishes an in-flight request on SIGTERM.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BoundAddress } from '@chaussette/core';
import { describe, expect } from 'vitest';
import { appFor, HELLO } from './apps.js';
import { request } from './client.js';
import type { Kit } from './kit.js';
import { kitTest } from './known-failures.js';
import { exitCode, lineReader, listeningServer, socketFd } from './processes.js';

export function describeInheritedSockets(kit: Kit): void {
  describe('inherited sockets', () => {
    kitTest('on an inherited fd in a child process, finishing an in-flight request on SIGTERM', async () => {
      const parent = await listeningServer();
      const port = (parent.address() as { port: number }).port;
      const child = spawn(
        process.execPath,
        [
          // Next to this module in the build (dist/), which is what backends run.
          fileURLToPath(new URL('./fd-child.js', import.meta.url)),
          kit.options.backend,
          JSON.stringify(kit.searchFrom),
          appFor(kit.backend(), undefined),
          JSON.stringify(kit.options.backendOptions ?? {}),
        ],
        { stdio: ['ignore', 'pipe', 'inherit', socketFd(parent)] },
      );
      parent.close(); // the child holds its own copy of the socket
      try {
        const lines = lineReader(child.stdout!);
        expect(await lines.next()).toBe(`listening fd://3 (127.0.0.1:${port})`);
        const bound: BoundAddress = { type: 'tcp', host: '127.0.0.1', port };
        expect((await request(bound, '/')).body.toString()).toBe(HELLO);
        const slow = request(bound, '/slow?ms=400');
        expect(await lines.next()).toBe('slow-started');
        child.kill('SIGTERM');
        const response = await slow;
        expect(response.status).toBe(200);
        expect(response.body.toString()).toBe('slow done');
        expect(await exitCode(child)).toBe(0);
      } finally {
        child.kill('SIGKILL');
      }
    });
  });
}
