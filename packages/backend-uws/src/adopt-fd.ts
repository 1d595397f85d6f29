// uWebSockets.js cannot listen on a socket it did not create (upstream declined:
// uNetworking/uWebSockets.js#175). It adds a new listen socket to libuv's epoll only on the next turn of
// the event loop, so inside its listen callback the socket's fd can still be replaced: dup2(inherited,
// placeholder) makes that fd number refer to the inherited socket, and closes the placeholder. uWS then
// accepts on the inherited socket, in this process. Linux only: the placeholder is found through /proc.
import { closeSync, fstatSync, readdirSync, readlinkSync } from 'node:fs';
import { type BoundAddress, ChaussetteError, errorMessage, readSocketTable, requireByRealPath } from '@chaussette/core';

const F_GETFL = 3;
const F_SETFL = 4;
const F_DUPFD_CLOEXEC = 1030;
const O_NONBLOCK = 0o4000;
const TCP_LISTEN = '0A';

interface Libc {
  dup2(oldFd: number, newFd: number): number;
  fcntl(fd: number, command: number, ...variadic: unknown[]): number;
}

let libc: Libc | undefined;

function loadLibc(): Libc {
  if (libc) return libc;
  if (process.platform !== 'linux') {
    throw new ChaussetteError(`The uws backend takes over inherited sockets on Linux only, not on ${process.platform}: use --backend node with --fd`);
  }
  try {
    const koffi = loadKoffi();
    const library = koffi.load('libc.so.6');
    const dup2 = library.func('int dup2(int oldfd, int newfd)');
    const fcntl = library.func('int fcntl(int fd, int cmd, ...)');
    libc = { dup2: (oldFd, newFd) => dup2(oldFd, newFd) as number, fcntl: (...args) => fcntl(...args) as number };
    return libc;
  } catch (error) {
    throw new ChaussetteError(
      `The uws backend needs libc's dup2 (through koffi) to serve an inherited socket, and could not load it: ${errorMessage(error)}. Use --backend node with --fd on this system`,
      { cause: error },
    );
  }
}

export type Placeholder = { type: 'tcp'; port: number } | { type: 'unix'; path: string };

/**
 * Puts the inherited socket `fd` in place of the placeholder listen socket uWS just opened; checks it
 * worked. Returns the fd number uWS now accepts on.
 */
export function adoptInheritedSocket(fd: number, placeholder: Placeholder): number {
  const { dup2, fcntl } = loadLibc();
  const placeholderFd = fdOfSocket(placeholderInode(placeholder));
  if (placeholderFd === undefined) {
    throw new ChaussetteError(`Could not find the socket uWebSockets.js opened (${describe(placeholder)}) to put fd ${fd} in its place`);
  }
  // Several workers accept on one shared socket: a blocking accept() would stall this one's event loop.
  const flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, 'int', flags | O_NONBLOCK) < 0) throw new ChaussetteError(`Could not make fd ${fd} non-blocking`);
  if (dup2(fd, placeholderFd) !== placeholderFd) throw new ChaussetteError(`dup2(${fd}, ${placeholderFd}) failed: uWebSockets.js cannot take over fd ${fd}`);
  const inherited = fstatSync(fd).ino;
  if (fstatSync(placeholderFd).ino !== inherited || placeholderInode(placeholder, false) !== undefined) {
    throw new ChaussetteError(`Taking over fd ${fd} for uWebSockets.js did not work: the placeholder socket (${describe(placeholder)}) is still open`);
  }
  // uWS's fd is the socket's only copy in this process now: closing it when shutting down stops this
  // process from holding the socket, as node:http's close() does with the fd it listened on.
  closeSync(fd);
  return placeholderFd;
}

/** A second fd for the socket of `fd` (close-on-exec), for another uWS app to take over with adoptInheritedSocket. */
export function duplicateSocket(fd: number): number {
  const copy = loadLibc().fcntl(fd, F_DUPFD_CLOEXEC, 'int', 0);
  if (copy < 0) throw new ChaussetteError(`Could not duplicate the listening socket (fd ${fd}) for the new certificates`);
  return copy;
}

/** The sockets this process has open (`socket:[inode]`), by fd: to tell which fd uWS opened for a listen(). */
export function openSockets(): Map<number, string> {
  const sockets = new Map<number, string>();
  for (const entry of readdirSync('/proc/self/fd')) {
    try {
      const link = readlinkSync(`/proc/self/fd/${entry}`);
      if (link.startsWith('socket:[')) sockets.set(Number(entry), link);
    } catch {
      // closed meanwhile (readdir's own fd)
    }
  }
  return sockets;
}

function describe(placeholder: Placeholder): string {
  return placeholder.type === 'tcp' ? `127.0.0.1:${placeholder.port}` : `unix:${placeholder.path}`;
}

/** The inode of the placeholder listen socket, from the kernel's socket tables. */
function placeholderInode(placeholder: Placeholder, required = true): string | undefined {
  let inode: string | undefined;
  if (placeholder.type === 'tcp') {
    const port = placeholder.port.toString(16).toUpperCase().padStart(4, '0');
    // sl local_address rem_address st … inode: `0100007F:1F90 00000000:0000 0A … 12345`
    inode = tableRows('tcp').find((row) => row[1] === `0100007F:${port}` && row[3] === TCP_LISTEN)?.[9];
  } else {
    // Num RefCount Protocol Flags Type St Inode Path
    inode = tableRows('unix').find((row) => row[7] === placeholder.path)?.[6];
  }
  if (inode === undefined && required) throw new ChaussetteError(`The socket uWebSockets.js opened (${describe(placeholder)}) is not in /proc/net`);
  return inode;
}

function fdOfSocket(inode: string | undefined): number | undefined {
  const link = `socket:[${inode}]`;
  for (const [fd, socket] of openSockets()) if (socket === link) return fd;
  return undefined;
}

function tableRows(table: 'tcp' | 'tcp6' | 'unix'): string[][] {
  return readSocketTable(table) ?? [];
}

/** The address an inherited TCP socket is bound to, read from /proc/net/tcp{,6} by its inode. */
export function inheritedTcpAddress(fd: number): BoundAddress {
  const inode = String(fstatSync(fd).ino);
  for (const file of ['tcp', 'tcp6'] as const) {
    const row = tableRows(file).find((fields) => fields[9] === inode);
    if (!row?.[1]) continue;
    const [hexAddress = '', hexPort = '0'] = row[1].split(':');
    return { type: 'tcp', host: decodeAddress(hexAddress), port: Number.parseInt(hexPort, 16) };
  }
  throw new ChaussetteError(`fd ${fd} is not in /proc/net/tcp: cannot tell its address`);
}

/** /proc/net/tcp prints addresses as 32-bit words in host (little-endian) order. */
function decodeAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((word) => (word.match(/../g) ?? []).reverse().map((byte) => Number.parseInt(byte, 16)));
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.slice(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  const groups = Array.from({ length: 8 }, (_, index) => ((bytes[index * 2]! << 8) | bytes[index * 2 + 1]!).toString(16));
  // The shortest form, as node:net reports it: the longest run of zero groups becomes ::.
  let best = { start: -1, length: 0 };
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === '0') length++;
    if (length > best.length && length > 1) best = { start, length };
  }
  if (best.start < 0) return groups.join(':');
  return `${groups.slice(0, best.start).join(':')}::${groups.slice(best.start + best.length).join(':')}`;
}

/** koffi, an optional peer dependency (see requireByRealPath). */
export const loadKoffi = () => requireByRealPath<typeof import('koffi')>(import.meta.url, 'koffi');
