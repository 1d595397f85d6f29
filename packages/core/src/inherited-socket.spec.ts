import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { inspectInheritedSocket, systemdSockets } from './inherited-socket.js';

const fdOf = (object: unknown) => (object as { _handle: { fd: number } })._handle.fd;
/** The fd whose socket has `inode` (dgram keeps its handle where no public member reaches it). */
const fdOfInode = (inode: string) => Number(readdirSync('/proc/self/fd').find((fd) => readlinkSafely(`/proc/self/fd/${fd}`) === `socket:[${inode}]`));
const readlinkSafely = (path: string) => {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
};

describe('inspectInheritedSocket', () => {
  test('a listening TCP socket is tcp, a listening unix socket is unix', async () => {
    const tcp = createServer().listen(0, '127.0.0.1');
    await once(tcp, 'listening');
    const directory = mkdtempSync(join(tmpdir(), 'chaussette-core-'));
    const unix = createServer().listen(join(directory, 's.sock'));
    await once(unix, 'listening');
    try {
      expect(inspectInheritedSocket(fdOf(tcp))).toEqual({ family: 'tcp' });
      expect(inspectInheritedSocket(fdOf(unix))).toEqual({ family: 'unix', path: join(directory, 's.sock') });
    } finally {
      tcp.close();
      unix.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  test('a closed fd, a file, a connected socket and a UDP socket are refused with what they are', async () => {
    expect(() => inspectInheritedSocket(987)).toThrow('--fd 987: file descriptor 987 is not open in this process');
    const file = openSync(new URL(import.meta.url).pathname, 'r');
    expect(() => inspectInheritedSocket(file, 'systemd socket web')).toThrow(`systemd socket web: file descriptor ${file} is a regular file, not a socket`);
    closeSync(file);

    const server = createServer((socket) => socket.end()).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = connect((server.address() as { port: number }).port, '127.0.0.1');
    await once(client, 'connect');
    expect(() => inspectInheritedSocket(fdOf(client))).toThrow('is a TCP socket that is not listening (state ESTABLISHED)');
    client.destroy();
    server.close();

    const udp = createSocket('udp4').bind(0, '127.0.0.1');
    await once(udp, 'listening');
    const port = `:${udp.address().port.toString(16).toUpperCase().padStart(4, '0')}`;
    const inode = readFileSync('/proc/net/udp', 'utf8').split('\n').map((line) => line.trim().split(/\s+/)).find((fields) => fields[1]?.endsWith(port))![9]!;
    expect(() => inspectInheritedSocket(fdOfInode(inode))).toThrow('is a UDP (datagram) socket');
    udp.close();
  });
});

describe('systemdSockets', () => {
  test.each([
    ['no LISTEN_FDS', {}, undefined],
    ['LISTEN_PID of another process', { LISTEN_FDS: '1', LISTEN_PID: '1' }, undefined],
    ['no LISTEN_PID', { LISTEN_FDS: '1' }, undefined],
    ['one socket', { LISTEN_FDS: '1', LISTEN_PID: '42' }, [{ fd: 3, name: 'unknown' }]],
    [
      'named sockets',
      { LISTEN_FDS: '2', LISTEN_PID: '42', LISTEN_FDNAMES: 'web:admin' },
      [
        { fd: 3, name: 'web' },
        { fd: 4, name: 'admin' },
      ],
    ],
  ])('%s', (_name, env, expected) => {
    expect(systemdSockets(env as NodeJS.ProcessEnv, 42)).toEqual(expected);
  });

  test('a malformed LISTEN_FDS is an error', () => {
    expect(() => systemdSockets({ LISTEN_FDS: 'x', LISTEN_PID: '42' }, 42)).toThrow('LISTEN_FDS="x" is not a number of sockets');
  });
});
