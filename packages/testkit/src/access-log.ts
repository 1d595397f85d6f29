// The kit's access-log case, for each app kind: StartOptions.accessLog gets one entry per response.
import type { AccessEntry } from '@chaussette/core';
import { describe, expect } from 'vitest';
import { HELLO } from './apps.js';
import { request } from './client.js';
import { APP_KINDS, type Kit, serveFixture } from './kit.js';
import { kitTestForKind } from './known-failures.js';

export function describeAccessLog(kit: Kit): void {
  describe('access log', () => {
    describe.each(APP_KINDS)('%s app', (kind) => {
      const it = kitTestForKind(kit.backend, kind);

      it('one access entry per response, with method, target, status, bytes, referer and user agent', async () => {
        const entries: AccessEntry[] = [];
        const { server, address } = await serveFixture(kit, kind, { accessLog: (entry) => entries.push(entry) });
        try {
          await request(address, '/?a=1', { headers: { referer: 'http://example.com/', 'user-agent': 'kit/1.0' } });
          await request(address, '/status/404');
          for (let attempt = 0; attempt < 100 && entries.length < 2; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
          expect(entries).toHaveLength(2);
          expect(entries[0]).toMatchObject({
            remoteAddress: '127.0.0.1', method: 'GET', url: '/?a=1', httpVersion: '1.1', status: 200,
            bytes: Buffer.byteLength(HELLO), referer: 'http://example.com/', userAgent: 'kit/1.0', aborted: false,
          });
          expect(entries[0]!.durationMs).toBeGreaterThanOrEqual(0);
          expect(entries[1]).toMatchObject({ url: '/status/404', status: 404 });
        } finally {
          await server.close(1000);
        }
      });
    });
  });
}
