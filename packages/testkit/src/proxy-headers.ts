// The kit's proxy-header cases, for each app kind: X-Forwarded-For names the client only when the peer
// is one of StartOptions.trustedProxies, for the app and for the access log alike; on a unix socket,
// whose peers have no address, only with unixSocketPeers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessEntry } from '@chaussette/core';
import { describe, expect } from 'vitest';
import { request } from './client.js';
import { APP_KINDS, type Kit, serveFixture } from './kit.js';
import { kitTestForKind } from './known-failures.js';

export function describeProxyHeaders(kit: Kit): void {
  describe('proxy headers', () => {
    describe.each(APP_KINDS)('%s app', (kind) => {
      const it = kitTestForKind(kit.backend, kind);

      it('X-Forwarded-For gives the client address only when the peer is a trusted proxy', async () => {
        const entries: AccessEntry[] = [];
        const trusted = await serveFixture(kit, kind, { accessLog: (entry) => entries.push(entry), trustedProxies: { all: false, addresses: new Set(['127.0.0.1']) } });
        const untrusted = await serveFixture(kit, kind, { trustedProxies: { all: false, addresses: new Set(['192.0.2.1']) } });
        try {
          const forwarded = { 'x-forwarded-for': '198.51.100.9, 203.0.113.7' };
          expect((await request(trusted.address, '/ip', { headers: forwarded })).body.toString()).toBe('203.0.113.7');
          expect((await request(trusted.address, '/ip')).body.toString()).toBe('127.0.0.1');
          expect((await request(untrusted.address, '/ip', { headers: forwarded })).body.toString()).toBe('127.0.0.1');
          for (let attempt = 0; attempt < 100 && entries.length < 2; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
          expect(entries.map((entry) => entry.remoteAddress)).toEqual(['203.0.113.7', '127.0.0.1']);
        } finally {
          await Promise.all([trusted.server.close(1000), untrusted.server.close(1000)]);
        }
      });

      it('on a unix socket (a peer with no address): X-Forwarded-For gives the client address only with unixSocketPeers', async () => {
        const directory = mkdtempSync(join(tmpdir(), 'chaussette-kit-'));
        const entries: AccessEntry[] = [];
        const onUnixSocket = (name: string) => [{ type: 'unix' as const, path: join(directory, name), backlog: 511 }];
        const trusted = await serveFixture(kit, kind, { targets: onUnixSocket('trusted.sock'), accessLog: (entry) => entries.push(entry), trustedProxies: { all: false, addresses: new Set(), unixSocketPeers: true } });
        const untrusted = await serveFixture(kit, kind, { targets: onUnixSocket('untrusted.sock'), accessLog: (entry) => entries.push(entry), trustedProxies: { all: false, addresses: new Set(['127.0.0.1']) } });
        try {
          const forwarded = { 'x-forwarded-for': '198.51.100.9, 203.0.113.7' };
          expect((await request(trusted.address, '/ip', { headers: forwarded })).body.toString()).toBe('203.0.113.7');
          // No address, as node:net gives a unix-socket peer: the access log shows '-'.
          expect((await request(untrusted.address, '/ip', { headers: forwarded })).body.toString()).toBe('undefined');
          for (let attempt = 0; attempt < 100 && entries.length < 2; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
          expect(entries.map((entry) => entry.remoteAddress)).toEqual(['203.0.113.7', undefined]);
        } finally {
          await Promise.all([trusted.server.close(1000), untrusted.server.close(1000)]);
          rmSync(directory, { recursive: true, force: true });
        }
      });
    });
  });
}
