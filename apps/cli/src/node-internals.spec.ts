// One test per undocumented member of Node that node-internals.ts uses, named after it, run on every Node
// version CI runs: a release that changes one fails here, saying which.
import { once } from 'node:events';
import { fstatSync, mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getSystemErrorName } from 'node:util';
import { expect, test } from 'vitest';
import { inspectInheritedSocket } from '@chaussette/core';
import { type BoundHandle, bindWithoutListening, boundPort } from './node-internals.js';

test('net._createServerHandle: binds a TCP or unix socket that does not listen, and gives its fd; a taken address is an errno', () => {
  const tcp = bindWithoutListening('127.0.0.1', 0) as BoundHandle;
  expect(typeof tcp).toBe('object');
  expect(fstatSync(tcp.fd).isSocket()).toBe(true);
  expect(() => inspectInheritedSocket(tcp.fd)).toThrow('is a socket that is not listening');

  const directory = mkdtempSync(join(tmpdir(), 'chaussette-internals-'));
  try {
    const unix = bindWithoutListening(join(directory, 's.sock'), -1) as BoundHandle;
    expect(fstatSync(unix.fd).isSocket()).toBe(true);
    const again = bindWithoutListening(join(directory, 's.sock'), -1);
    expect(typeof again === 'number' && getSystemErrorName(again)).toBe('EADDRINUSE');
    unix.close();
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  tcp.close();
});

test("TCPWrap's getsockname: the port a socket is bound to, the kernel's choice for port 0", async () => {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  const asked = bindWithoutListening('127.0.0.1', port) as BoundHandle;
  const any = bindWithoutListening('127.0.0.1', 0) as BoundHandle;
  try {
    expect(boundPort(asked)).toBe(port);
    expect(boundPort(any)).toBeGreaterThan(0);
  } finally {
    asked.close();
    any.close();
  }
});
