import { chmod } from 'node:fs/promises';
import type { App, Backend, BoundAddress, ListenTarget, Logger, ServeOptions, ServerHandle } from './backend.js';
import { ChaussetteError, errorCode } from './errors.js';
import { formatAddress, formatListenAddress } from './listen-target.js';
import { refuseH2cWithTls, type TlsSettings } from './tls.js';
import { type OwnedSocketFile, ownSocketFile, removeStaleUnixSocket } from './unix-socket.js';

export interface StartOptions {
  app: App;
  backend: Backend;
  targets: readonly ListenTarget[];
  logger: Logger;
  /** File mode for unix socket files (e.g. 0o660); the umask decides when unset. */
  socketMode?: number;
  /** Passed on to the backend: see ServeOptions. */
  accessLog?: ServeOptions['accessLog'];
  trustedProxies?: ServeOptions['trustedProxies'];
  backendOptions?: ServeOptions['backendOptions'];
  limits?: ServeOptions['limits'];
  peerCredentials?: ServeOptions['peerCredentials'];
  tls?: ServeOptions['tls'];
  h2c?: ServeOptions['h2c'];
  /**
   * The other backends there are (the CLI: the installed ones, see loadInstalledBackends), asked only
   * when `backend` cannot do what is asked: the message names those that can.
   */
  otherBackends?: () => Promise<readonly Backend[]>;
}

export interface Listening {
  target: ListenTarget;
  /** The address the socket is bound to, as the backend reported it. */
  bound: BoundAddress;
  /** Where it listens, formatted: `127.0.0.1:8080`, `unix:/run/app.sock`, `fd://3 (127.0.0.1:8000)`. */
  address: string;
}

export interface RunningServer {
  listening: Listening[];
  /** Graceful and idempotent: closes every listener (see ServerHandle.close), then the app's own close hook. */
  close(timeoutMs: number): Promise<void>;
  /** With `tls`: new handshakes on every listener get these certificates (see ServerHandle.updateTls). */
  updateTls(tls: TlsSettings): void;
}

/** Serves `app` with `backend` on every target: the lifecycle every backend shares. */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { app, backend, logger } = options;
  await refuseUnservableApp(options);
  await refuseUnsupportedOptions(options);
  await app.ready?.();
  const started: { handle: ServerHandle; socketFile?: OwnedSocketFile }[] = [];
  const listening: Listening[] = [];
  let closing: Promise<void> | undefined;
  const close = (timeoutMs: number) =>
    (closing ??= (async () => {
      await Promise.all(started.map(({ handle }) => handle.close(timeoutMs)));
      await Promise.all(started.flatMap(({ socketFile }) => (socketFile ? [socketFile.remove()] : [])));
      await app.close?.();
    })());

  // The backend serves on one target, the unix socket created with its mode (no moment with the
  // umask's), then chmod()ed to be sure.
  const serveOn = async (target: ListenTarget) => {
    const umask = target.type === 'unix' && options.socketMode !== undefined ? process.umask(~options.socketMode & 0o777) : undefined;
    try {
      return await backend.serve(app, target, {
        logger,
        accessLog: options.accessLog,
        trustedProxies: options.trustedProxies,
        backendOptions: options.backendOptions,
        limits: options.limits,
        peerCredentials: options.peerCredentials,
        tls: options.tls,
        h2c: options.h2c,
      });
    } finally {
      if (umask !== undefined) process.umask(umask);
    }
  };
  try {
    let freePort: number | undefined;
    // A node:cluster worker shares its unix socket with its siblings through the primary, which created
    // the file and removes it once the last of them has closed it.
    const sharedByCluster = (await inClusterWorker()) && backend.supports?.nodeCluster === true;
    for (const asked of options.targets) {
      if (asked.type === 'unix' && (await removeStaleUnixSocket(asked.path, { answeringIsShared: sharedByCluster }))) {
        logger.info(`Removed stale socket file ${asked.path}`);
      }
      const { target, handle } = await onePortForAny(asked, freePort, serveOn);
      if (asked.type === 'tcp' && asked.port === 0 && handle.address.type === 'tcp') freePort ??= handle.address.port;
      const entry: (typeof started)[number] = { handle };
      started.push(entry);
      if (target.type === 'unix' && !sharedByCluster) entry.socketFile = await ownSocketFile(target.path, options.socketMode);
      else if (target.type === 'unix' && options.socketMode !== undefined) await chmod(target.path, options.socketMode);
      listening.push({ target, bound: handle.address, address: formatListenAddress(target, handle.address) });
    }
  } catch (error) {
    await close(0);
    throw error;
  }
  const updateTls = (tls: TlsSettings) => {
    for (const { handle } of started) handle.updateTls?.(tls);
  };
  return { listening, close, updateTls };
}

/**
 * Port 0 asked on several addresses (`localhost`: 127.0.0.1 and ::1) is one port on all of them where
 * it can be: the port the kernel gave the first, else (taken there) any free one.
 */
async function onePortForAny(
  asked: ListenTarget,
  freePort: number | undefined,
  serveOn: (target: ListenTarget) => Promise<ServerHandle>,
): Promise<{ target: ListenTarget; handle: ServerHandle }> {
  if (asked.type === 'tcp' && asked.port === 0 && freePort !== undefined) {
    const samePort = { ...asked, port: freePort };
    try {
      return { target: samePort, handle: await serveOn(samePort) };
    } catch (error) {
      if (errorCode(error) !== 'EADDRINUSE') throw listenError(error, samePort);
    }
  }
  try {
    return { target: asked, handle: await serveOn(asked) };
  } catch (error) {
    throw listenError(error, asked);
  }
}

/** What refuseUnsupportedOptions() checks: the options without the app, known before it loads. */
export type OptionsBeforeApp = Pick<
  StartOptions,
  'backend' | 'targets' | 'peerCredentials' | 'socketMode' | 'tls' | 'h2c' | 'limits' | 'backendOptions' | 'otherBackends'
>;

/**
 * Flags the backend does not implement, or that none of the targets can use, are errors rather than
 * ignored. It needs no app: the CLI calls it before loading one, startServer() again for library users.
 */
export async function refuseUnsupportedOptions(options: OptionsBeforeApp): Promise<void> {
  const { backend, targets, peerCredentials, socketMode, tls, h2c, limits, backendOptions, otherBackends } = options;
  const pickAnother = otherBackendsThatCan(otherBackends);
  refuseSocketModeWithoutUnixSocket(socketMode, targets);
  backend.refuseOptions?.({ limits, backendOptions });
  await refuseUnsharedInClusterWorker(backend, targets);
  if (targets.some((target) => target.type === 'tcp' && target.reusePort) && !backend.supports?.reusePort) {
    throw new ChaussetteError(
      `The ${backend.name} backend cannot share a port with other processes (--reuse-port). ${await pickAnother((other) => other.supports?.reusePort)}`,
    );
  }
  refuseH2cWithTls(h2c, tls);
  if (tls && !backend.supports?.tls) {
    throw new ChaussetteError(`The ${backend.name} backend cannot serve TLS (--certfile). ${await pickAnother((other) => other.supports?.tls)}`);
  }
  if (h2c && !backend.supports?.http2) {
    throw new ChaussetteError(`The ${backend.name} backend cannot speak HTTP/2 (--h2c). ${await pickAnother((other) => other.supports?.http2)}`);
  }
  if (!peerCredentials) return;
  if (!backend.supports?.peerCredentials) {
    throw new ChaussetteError(
      `The ${backend.name} backend cannot read a client's peer credentials (--peercreds). ${await pickAnother((other) => other.supports?.peerCredentials)}`,
    );
  }
  if (!targets.some((target) => target.type === 'unix' || (target.type === 'fd' && target.family === 'unix'))) {
    throw new ChaussetteError('--peercreds gives apps the credentials of unix-socket clients, and this server listens on no unix socket: add --bind unix:/path');
  }
}

/** What the app needs of the backend, once it is loaded. */
async function refuseUnservableApp({ app, backend, otherBackends }: StartOptions): Promise<void> {
  if (!backend.appKinds.includes(app.kind)) {
    throw new ChaussetteError(
      `The ${backend.name} backend cannot serve ${app.description}: it serves ${backend.appKinds.join(' and ')} apps. Pick another --backend`,
    );
  }
  if (app.kind === 'fetch' && app.websocket && !backend.supports?.websocket) {
    throw new ChaussetteError(
      `The ${backend.name} backend cannot serve WebSocket handlers (the app's websocket member). ${await otherBackendsThatCan(otherBackends)((other) => other.supports?.websocket)}`,
    );
  }
}

/** `Use --backend fastify or node`: the other backends that can do what this one cannot. */
function otherBackendsThatCan(otherBackends: StartOptions['otherBackends']): (can: (other: Backend) => boolean | undefined) => Promise<string> {
  return async (can) => {
    const names = ((await otherBackends?.()) ?? []).filter(can).map(({ name }) => name);
    if (names.length === 0) return 'No other installed backend can: install one that does';
    return `Use --backend ${names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`}`;
  };
}

/**
 * Loaded only when a server starts: importing node:cluster made a raw uWebSockets.js server that
 * imports core (the benchmark's baseline) run 23 times the instructions per request under callgrind.
 */
async function inClusterWorker(): Promise<boolean> {
  return (await import('node:cluster')).default.isWorker;
}

/**
 * In a node:cluster worker (PM2's cluster mode) a backend that binds its sockets itself cannot share the
 * primary's: the second worker would find its address in use. A TCP port can be shared with
 * --reuse-port (each worker binds it, the kernel spreads the connections); a unix socket path cannot.
 */
async function refuseUnsharedInClusterWorker(backend: Backend, targets: readonly ListenTarget[]): Promise<void> {
  if (backend.supports?.nodeCluster || !(await inClusterWorker())) return;
  const unix = targets.find((target) => target.type === 'unix');
  if (unix) {
    throw new ChaussetteError(
      `The ${backend.name} backend binds its sockets itself, so node:cluster workers (PM2's cluster mode) cannot share ${formatAddress(unix)}: run one process per socket path (PM2's fork mode), or use --backend node or fastify`,
    );
  }
  const tcp = targets.find((target) => target.type === 'tcp' && !target.reusePort);
  if (tcp) {
    throw new ChaussetteError(
      `The ${backend.name} backend binds its sockets itself, so node:cluster workers (PM2's cluster mode) cannot share ${formatAddress(tcp)} through their primary: add --reuse-port, for each worker to bind the port and the kernel to spread the connections`,
    );
  }
}

/** --socket-mode applies to the unix sockets chaussette binds; the message says why for the sockets at hand. */
function refuseSocketModeWithoutUnixSocket(socketMode: number | undefined, targets: readonly ListenTarget[]): void {
  if (socketMode === undefined || targets.some((target) => target.type === 'unix')) return;
  if (targets.some((target) => target.type === 'fd' && target.family === 'unix')) {
    throw new ChaussetteError(
      '--socket-mode sets the mode of a unix socket chaussette binds (--bind unix:/path); an inherited socket keeps the mode its manager gave it (Circus: umask in [socket:NAME]; systemd: SocketMode=; Supervisor: socket_mode)',
    );
  }
  const where = targets.map((target) => formatAddress(target)).join(', ');
  throw new ChaussetteError(
    `--socket-mode sets the file mode of a unix socket, and this server listens on TCP only (${where}), which has no file mode: drop --socket-mode, or bind a unix socket (--bind unix:/path)`,
  );
}

/** Turns a failed listen() into a message that says what to do. */
export function listenError(error: unknown, target: ListenTarget): unknown {
  const where = target.type === 'fd' ? `fd://${target.fd}` : formatAddress(target);
  switch (errorCode(error)) {
    case 'EADDRINUSE':
      return new ChaussetteError(
        `Cannot listen on ${where}: the address is already in use. Stop the other server, or choose another ${target.type === 'unix' ? 'socket path' : '--port'}`,
        { cause: error },
      );
    case 'EACCES':
    case 'EPERM':
      return new ChaussetteError(
        target.type === 'tcp' && target.port < 1024
          ? `Permission denied to listen on ${where}: ports below 1024 need root or CAP_NET_BIND_SERVICE. Use a port above 1023, or have a process manager bind it and pass it with --fd`
          : `Permission denied to listen on ${where}: ${target.type === 'unix' ? 'this user cannot create files in that directory' : 'the system refused'}. Choose a path this user may write to`,
        { cause: error },
      );
    case 'EADDRNOTAVAIL':
      return new ChaussetteError(
        `Cannot listen on ${where}: that address belongs to no interface of this machine. Use one of its addresses, 127.0.0.1, or 0.0.0.0 for all`,
        { cause: error },
      );
    case 'ENOENT':
      return new ChaussetteError(`Cannot create ${where}: its directory does not exist. Create it first`, { cause: error });
    default:
      return error;
  }
}
