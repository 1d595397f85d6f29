import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BoundAddress, ChaussetteError, formatAddress, type ListenTarget } from '@chaussette/core';
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { adoptInheritedSocket, duplicateSocket, inheritedTcpAddress, openSockets, type Placeholder } from './adopt-fd.js';
import type { Uws } from './uws.js';

export interface Listener {
  socket: us_listen_socket;
  address: BoundAddress;
  /** The fd uWS accepts on, when asked for (`trackFd`): another app can take the socket over (takeOver). */
  fd?: number;
}

/**
 * Listens on a port, a unix socket, or an inherited fd (which uWebSockets.js has no API for: see
 * adopt-fd.ts). `trackFd` (Linux) finds the fd uWS opened, for takeOver().
 */
export async function listen(uws: Uws, app: TemplatedApp, target: ListenTarget, trackFd = false): Promise<Listener> {
  if (target.type === 'fd') return listenOnInheritedFd(uws, app, target);
  const before = trackFd ? openSockets() : undefined;
  let listener: Listener;
  if (target.type === 'tcp') {
    const socket = await listenTcp(uws, app, target.host, target.port, target.reusePort ?? false);
    if (!socket) throw await listenFailure(target);
    listener = { socket, address: { type: 'tcp', host: target.host, port: uws.us_socket_local_port(socket) } };
  } else {
    const socket = await listenUnix(app, target.path);
    if (!socket) throw await listenFailure(target);
    listener = { socket, address: { type: 'unix', path: target.path } };
  }
  if (before) listener.fd = newSocketFd(before);
  return listener;
}

function newSocketFd(before: Map<number, string>): number {
  const opened = [...openSockets()].filter(([fd, socket]) => before.get(fd) !== socket);
  if (opened.length !== 1) throw new ChaussetteError(`Could not tell which fd uWebSockets.js listens on (${opened.length} sockets opened)`);
  return opened[0]![0];
}

/**
 * `app` accepts on `listener`'s socket from the next turn of the event loop, and `listener`'s app no
 * longer does: a placeholder listen socket of `app` is replaced by a copy of the fd (as an inherited fd
 * is, see adopt-fd.ts), then the old listen socket is closed. The socket itself stays open throughout,
 * so a connection waiting to be accepted is accepted by `app`; those the old app accepted stay its own.
 * Synchronous: uWS calls its listen callbacks before listen() returns.
 */
export function takeOver(uws: Uws, app: TemplatedApp, listener: Listener): Listener {
  if (listener.fd === undefined) throw new ChaussetteError('This listening socket cannot be handed to new certificates (its fd is unknown: Linux only)');
  const copy = duplicateSocket(listener.fd);
  let fd: number | undefined;
  let failure: unknown;
  let socket: us_listen_socket | false = false;
  // uWS calls back from C++, where a throw would not reach this function.
  const adopt = (placeholder: us_listen_socket | false, where: Placeholder) => {
    socket = placeholder;
    try {
      if (placeholder) fd = adoptInheritedSocket(copy, where);
    } catch (error) {
      failure = error;
    }
  };
  try {
    if (listener.address.type === 'unix') {
      const directory = mkdtempSync(join(tmpdir(), 'chaussette-uws-'));
      const path = join(directory, 'placeholder.sock');
      try {
        app.listen_unix((placeholder) => adopt(placeholder, { type: 'unix', path }), path);
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    } else {
      (app.listen as unknown as ListenWithOptions).call(app, '127.0.0.1', 0, LIBUS_LISTEN_EXCLUSIVE_PORT, (placeholder) =>
        adopt(placeholder, placeholder ? { type: 'tcp', port: uws.us_socket_local_port(placeholder) } : { type: 'tcp', port: 0 }),
      );
    }
  } finally {
    if (fd === undefined) closeSync(copy);
  }
  if (fd === undefined) {
    if (socket) uws.us_listen_socket_close(socket);
    if (failure) throw failure;
    throw new ChaussetteError(`uWebSockets.js could not open a placeholder socket to take over ${formatAddress(listener.address)} with the new certificates`);
  }
  uws.us_listen_socket_close(listener.socket);
  return { socket: socket as us_listen_socket, address: listener.address, fd };
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
    let fd: number | undefined;
    const socket = await listenTcp(uws, app, '127.0.0.1', 0, false, (placeholder) => {
      fd = adoptInheritedSocket(target.fd, { type: 'tcp', port: uws.us_socket_local_port(placeholder) });
    });
    if (!socket) throw new ChaussetteError('uWebSockets.js could not open a placeholder socket on 127.0.0.1 to take over the inherited fd');
    return { socket, address, fd };
  }
  const directory = mkdtempSync(join(tmpdir(), 'chaussette-uws-'));
  const placeholderPath = join(directory, 'placeholder.sock');
  try {
    let fd: number | undefined;
    const socket = await listenUnix(app, placeholderPath, () => {
      fd = adoptInheritedSocket(target.fd, { type: 'unix', path: placeholderPath });
    });
    if (!socket) throw new ChaussetteError(`uWebSockets.js could not open a placeholder unix socket in ${directory} to take over the inherited fd`);
    return { socket, address: { type: 'unix', path: target.path ?? '' }, fd };
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
