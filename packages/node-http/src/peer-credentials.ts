// --peercreds: the pid, uid and gid of the process at the other end of a unix socket, as the kernel
// recorded them when it connected (SO_PEERCRED). Node.js has no API for it: getsockopt() is called
// through koffi, an optional peer dependency loaded only when the flag is given.
import type { Socket } from 'node:net';
import { ChaussetteError, errorMessage, requireByRealPath } from '@chaussette/core';
import { rawSocketOf, socketFd } from './node-internals.js';
import type { NodeHttpServer } from './server-kinds.js';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const credentialsOf = Symbol('peerCredentials');

type Getsockopt = (fd: number, level: number, option: number, value: Buffer, length: number[]) => number;
let getsockopt: Getsockopt | undefined;

function loadGetsockopt(): Getsockopt {
  if (getsockopt) return getsockopt;
  if (process.platform !== 'linux') throw new ChaussetteError(`--peercreds reads SO_PEERCRED, which chaussette supports on Linux only, not on ${process.platform}`);
  let koffi: typeof import('koffi');
  try {
    koffi = requireByRealPath<typeof import('koffi')>(import.meta.url, 'koffi');
  } catch (error) {
    throw new ChaussetteError(`--peercreds needs the koffi package, to call getsockopt(): run \`npm install koffi\` (${errorMessage(error)})`, { cause: error });
  }
  try {
    const call = koffi.load('libc.so.6').func('int getsockopt(int fd, int level, int option, _Out_ uint8_t *value, _Inout_ uint32_t *length)');
    getsockopt = (fd, level, option, value, length) => call(fd, level, option, value, length) as number;
    return getsockopt;
  } catch (error) {
    throw new ChaussetteError(`--peercreds could not load getsockopt() from glibc's libc.so.6 (${errorMessage(error)}): it needs a glibc Linux`, { cause: error });
  }
}

/**
 * Gives every request on a unix-socket connection of `server` a `peerCredentials` property (`{ pid,
 * uid, gid }`), read once per connection; requests over TCP have none. HTTP/2 streams too: node:http2's
 * `req.socket` reads the session's socket. Throws, with what to do, if getsockopt() cannot be loaded.
 */
export function exposePeerCredentials(server: NodeHttpServer): void {
  const read = loadGetsockopt();
  server.on('connection', (socket: Socket) => {
    const fd = socketFd(socket);
    if (fd === undefined || socket.remoteFamily !== undefined) return; // TCP has a remote family; unix sockets none
    const value = Buffer.alloc(12);
    if (read(fd, SOL_SOCKET, SO_PEERCRED, value, [12]) !== 0) return;
    (socket as Socket & { [credentialsOf]?: PeerCredentials })[credentialsOf] = { pid: value.readInt32LE(0), uid: value.readUInt32LE(4), gid: value.readUInt32LE(8) };
  });
  // Before the app's own 'request' listener, so that node apps (and Fastify's raw request) see it.
  server.prependListener('request', (req: { socket: Socket; peerCredentials?: PeerCredentials }) => {
    // Over TLS, requests read a TLS socket; the kernel's credentials are the unix socket's under it.
    const credentials = credentialsOn(req.socket) ?? credentialsOn(rawSocketOf(req.socket));
    if (credentials) req.peerCredentials = credentials;
  });
}

const credentialsOn = (socket: object | undefined) => (socket as { [credentialsOf]?: PeerCredentials } | undefined)?.[credentialsOf];
