import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BoundAddress, ChaussetteError, formatAddress, type ListenTarget } from '@chaussette/core';
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { adoptInheritedSocket, inheritedTcpAddress } from './adopt-fd.js';
import type { Uws } from './uws.js';

export interface Listener {
  socket: us_listen_socket;
  address: BoundAddress;
}

/** Listens on a port, a unix socket, or an inherited fd (which uWebSockets.js has no API for: see adopt-fd.ts). */
export async function listen(uws: Uws, app: TemplatedApp, target: ListenTarget): Promise<Listener> {
  switch (target.type) {
    case 'tcp': {
      const socket = await listenTcp(uws, app, target.host, target.port, target.reusePort ?? false);
      if (!socket) throw await listenFailure(target);
      return { socket, address: { type: 'tcp', host: target.host, port: uws.us_socket_local_port(socket) } };
    }
    case 'unix': {
      const socket = await listenUnix(app, target.path);
      if (!socket) throw await listenFailure(target);
      return { socket, address: { type: 'unix', path: target.path } };
    }
    case 'fd':
      return listenOnInheritedFd(uws, app, target);
  }
}

// uSockets sets SO_REUSEPORT unless told otherwise: without this, a second server on the same port
// would share it silently instead of failing with EADDRINUSE as node:http does.
const LIBUS_LISTEN_EXCLUSIVE_PORT = 1;
const LIBUS_LISTEN_DEFAULT = 0;
type ListenWithOptions = (host: string, port: number, options: number, callback: (socket: us_listen_socket | false) => void) => void;

function listenTcp(uws: Uws, app: TemplatedApp, host: string, port: number, reusePort: boolean, adopt?: (socket: us_listen_socket) => void) {
  return new Promise<us_listen_socket | false>((resolve, reject) => {
    // uWebSockets.js takes (host, port, options, callback); its types list options only without a host.
    (app.listen as unknown as ListenWithOptions).call(app, host, port, reusePort ? LIBUS_LISTEN_DEFAULT : LIBUS_LISTEN_EXCLUSIVE_PORT, (socket) => {
      try {
        if (socket && adopt) adopt(socket);
        resolve(socket);
      } catch (error) {
        uws.us_listen_socket_close(socket as us_listen_socket);
        reject(error);
      }
    });
  });
}

function listenUnix(app: TemplatedApp, path: string, adopt?: (socket: us_listen_socket) => void) {
  return new Promise<us_listen_socket | false>((resolve, reject) => {
    app.listen_unix((socket) => {
      try {
        if (socket && adopt) adopt(socket);
        resolve(socket);
      } catch (error) {
        reject(error);
      }
    }, path);
  });
}

/**
 * uWebSockets.js listens on a placeholder socket of the same family, and inside its listen callback
 * (before the socket is polled, on the next loop turn) the inherited fd is dup2'ed over it.
 */
async function listenOnInheritedFd(uws: Uws, app: TemplatedApp, target: Extract<ListenTarget, { type: 'fd' }>): Promise<Listener> {
  if (target.family === 'tcp') {
    const address = inheritedTcpAddress(target.fd); // before the fd is handed over (and closed)
    const socket = await listenTcp(uws, app, '127.0.0.1', 0, false, (placeholder) =>
      adoptInheritedSocket(target.fd, { type: 'tcp', port: uws.us_socket_local_port(placeholder) }),
    );
    if (!socket) throw new ChaussetteError('uWebSockets.js could not open a placeholder socket on 127.0.0.1 to take over the inherited fd');
    return { socket, address };
  }
  const directory = mkdtempSync(join(tmpdir(), 'chaussette-uws-'));
  const placeholderPath = join(directory, 'placeholder.sock');
  try {
    const socket = await listenUnix(app, placeholderPath, () => adoptInheritedSocket(target.fd, { type: 'unix', path: placeholderPath }));
    if (!socket) throw new ChaussetteError(`uWebSockets.js could not open a placeholder unix socket in ${directory} to take over the inherited fd`);
    return { socket, address: { type: 'unix', path: target.path ?? '' } };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** uWebSockets.js says only that listen failed: node:net, trying the same, tells why (EADDRINUSE…). */
async function listenFailure(target: Extract<ListenTarget, { type: 'tcp' | 'unix' }>): Promise<Error> {
  const probe = createServer();
  const reason = await new Promise<Error | undefined>((resolve) => {
    probe.once('error', resolve);
    probe.listen(target.type === 'tcp' ? { host: target.host, port: target.port } : { path: target.path }, () => resolve(undefined));
  });
  if (reason) return reason;
  await new Promise((resolve) => probe.close(resolve));
  return new ChaussetteError(`uWebSockets.js could not listen on ${formatAddress(target)}, for a reason it does not tell. Try --backend node to see the system's error`);
}
