import { lookup } from 'node:dns/promises';
import { createServer } from 'node:net';
import type { ListenTarget } from './backend.js';
import { ChaussetteError, errorCode } from './errors.js';
import { forgetSystemdEnvironment, inspectInheritedSocket, systemdSockets } from './inherited-socket.js';
import { type BindSpec, formatAddress, parseBacklog, parseBindSpec, parseFd, parsePort } from './listen-target.js';

export interface ListenRequest {
  /** Bind specs (`host:port`, `[::1]:port`, `unix:/path`, `fd://N`); each one becomes a target. */
  bind?: readonly string[];
  /** A host name or IP; Chaussette's `unix:/path` and `fd://N` forms are accepted too. */
  host?: string;
  port?: string | number;
  fd?: string | number;
  /** Picks the systemd-passed socket with this name (LISTEN_FDNAMES). */
  fdName?: string;
  backlog: string | number;
  /** --reuse-port: the ports bound here may be shared with other processes (SO_REUSEPORT). */
  reusePort?: boolean;
  /** Used when nothing above names a socket and systemd passed none: the caller's defaults. */
  fallback: { host: string; port: number };
  env?: NodeJS.ProcessEnv;
}

/**
 * Turns the user's socket options into validated listen targets, in this order:
 * explicit --fd / --bind / --host and --port; then sockets from systemd; then the fallback address.
 */
export async function acquireListenTargets(request: ListenRequest): Promise<ListenTarget[]> {
  const targets = await acquire(request);
  if (!request.reusePort) return targets;
  const inherited = targets.find((target) => target.type !== 'tcp');
  if (inherited) {
    throw new ChaussetteError(
      `--reuse-port applies to the ports chaussette binds itself, not to ${formatAddress(inherited)}: ${inherited.type === 'fd' ? 'an inherited socket is set up by the manager that passes it' : 'a unix socket has no port to share'}`,
    );
  }
  return targets.map((target) => ({ ...target, reusePort: true }));
}

async function acquire(request: ListenRequest): Promise<ListenTarget[]> {
  const backlog = parseBacklog(request.backlog);
  const env = request.env ?? process.env;
  const given = (['bind', 'host', 'port', 'fd'] as const).filter((key) => {
    const value = request[key];
    return Array.isArray(value) ? value.length > 0 : value !== undefined;
  });
  if (request.fd !== undefined && given.length > 1) {
    const other = given.find((key) => key !== 'fd');
    throw new ChaussetteError(
      `--fd and --${other} cannot be used together: --fd serves on an inherited socket, --${other} binds a new one. Keep one of them`,
    );
  }
  if (request.bind?.length && given.length > 1) {
    const other = given.find((key) => key !== 'bind');
    throw new ChaussetteError(`--bind and --${other} cannot be used together: put the whole address in --bind`);
  }
  if (request.fdName !== undefined && given.length > 0) {
    throw new ChaussetteError(`--fd-name picks a socket passed by systemd; it cannot be combined with --${given[0]}`);
  }

  let specs: BindSpec[];
  if (request.fd !== undefined) {
    specs = [{ type: 'fd', fd: parseFd(request.fd) }];
  } else if (request.bind?.length) {
    specs = request.bind.map((spec) => parseBindSpec(spec));
  } else if (request.host?.startsWith('unix:') || request.host?.startsWith('fd://')) {
    if (request.port !== undefined) throw new ChaussetteError(`--port cannot be used with --host ${request.host}`);
    specs = [parseBindSpec(request.host, '--host')];
  } else if (request.host === undefined && request.port === undefined && systemdSockets(env)) {
    return systemdTargets(env, request.fdName, backlog);
  } else {
    if (request.fdName !== undefined) {
      throw new ChaussetteError(
        `--fd-name ${request.fdName}: systemd passed no sockets to this process (LISTEN_FDS and LISTEN_PID are not set for it)`,
      );
    }
    const host = request.host ?? request.fallback.host;
    if (host === '') throw new ChaussetteError('Invalid --host "" (expected a host name or an IP address)');
    const port = request.port === undefined ? request.fallback.port : parsePort(request.port);
    specs = [{ type: 'tcp', host, port }];
  }
  return (await Promise.all(specs.map((spec) => toTargets(spec, backlog)))).flat();
}

async function toTargets(spec: BindSpec, backlog: number): Promise<ListenTarget[]> {
  switch (spec.type) {
    case 'tcp': {
      const hosts = isLocalhost(spec.host) ? await loopbackAddresses() : [await resolveHost(spec.host)];
      return hosts.map((host) => ({ type: 'tcp', host, port: spec.port, backlog }));
    }
    case 'unix':
      return [{ type: 'unix', path: spec.path, backlog }];
    case 'fd':
      return [{ type: 'fd', fd: spec.fd, ...inspectInheritedSocket(spec.fd), backlog }];
  }
}

const isLocalhost = (host: string) => /^localhost\.?$/i.test(host);

/**
 * `localhost` is the loopback addresses, 127.0.0.1 and ::1 (RFC 6761, 6.3), as curl and browsers
 * resolve it whatever /etc/hosts lists (often 127.0.0.1 alone): a client may try either. ::1 is left
 * out, quietly, on a machine without IPv6.
 */
async function loopbackAddresses(): Promise<string[]> {
  return (await canBind('::1')) ? ['127.0.0.1', '::1'] : ['127.0.0.1'];
}

/** Whether this machine has the address: false only when binding it says it has not (no IPv6, or none such). */
async function canBind(host: string): Promise<boolean> {
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen({ host, port: 0, exclusive: true }, resolve));
    return true;
  } catch (error) {
    return !['EADDRNOTAVAIL', 'EAFNOSUPPORT'].includes(errorCode(error) ?? '');
  } finally {
    probe.close();
  }
}

function systemdTargets(env: NodeJS.ProcessEnv, fdName: string | undefined, backlog: number): ListenTarget[] {
  const sockets = systemdSockets(env) ?? [];
  forgetSystemdEnvironment(env);
  const chosen = fdName === undefined ? sockets : sockets.filter((socket) => socket.name === fdName);
  if (chosen.length === 0) {
    const names = sockets.map((socket) => socket.name).join(', ') || 'none';
    throw new ChaussetteError(
      fdName === undefined
        ? 'systemd set LISTEN_FDS=0: no socket was passed. Check the ListenStream= lines of the socket unit'
        : `--fd-name ${fdName}: systemd passed no socket of that name (names passed: ${names}). Set FileDescriptorName= in the socket unit`,
    );
  }
  return chosen.map(({ fd, name }) => ({
    type: 'fd',
    fd,
    ...inspectInheritedSocket(fd, `systemd socket ${name} (LISTEN_FDS)`),
    backlog,
  }));
}

/** Resolves a host name to the one IP address to bind, preferring IPv4 the way `localhost` users expect. */
async function resolveHost(host: string): Promise<string> {
  try {
    const addresses = await lookup(host, { all: true });
    const chosen = addresses.find((address) => address.family === 4) ?? addresses[0];
    if (chosen) return chosen.address;
  } catch (error) {
    throw new ChaussetteError(
      `Cannot resolve --host ${JSON.stringify(host)} (${errorCode(error) ?? 'lookup failed'}): use an IP address such as 127.0.0.1 or 0.0.0.0, or a name this machine resolves`,
      { cause: error },
    );
  }
  throw new ChaussetteError(`--host ${JSON.stringify(host)} resolves to no address; use an IP address such as 127.0.0.1`);
}
