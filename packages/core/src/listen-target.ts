import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { BoundAddress, ListenTarget } from './backend.js';
import { invalidOption } from './errors.js';

/** A bind spec as written by the user, before host names are resolved and fds are checked. */
export type BindSpec =
  | { type: 'tcp'; host: string; port: number }
  | { type: 'unix'; path: string }
  | { type: 'fd'; fd: number };

const BIND_FORMS = 'host:port, [ipv6]:port, unix:/path or fd://N';
const UNIX_PATH_MAX = 107;

/**
 * Parses `host:port`, `[::1]:port`, `unix:/path` (also Chaussette's `unix:///path`) and `fd://N`.
 * A relative unix path is resolved against the current directory.
 */
export function parseBindSpec(spec: string, option = '--bind'): BindSpec {
  if (spec.startsWith('unix:')) {
    const path = spec.slice('unix:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw invalidOption(option, spec, `unix: followed by a socket path, e.g. unix:/run/app.sock`);
    const absolute = resolve(path);
    // sun_path holds 108 bytes with the final NUL; a longer path would be cut short silently.
    if (Buffer.byteLength(absolute) > UNIX_PATH_MAX) {
      throw invalidOption(option, spec, `a socket path of at most ${UNIX_PATH_MAX} bytes; this one has ${Buffer.byteLength(absolute)}`);
    }
    return { type: 'unix', path: absolute };
  }
  if (spec.startsWith('fd://')) {
    return { type: 'fd', fd: whole(spec, option, () => parseFd(spec.slice('fd://'.length), option)) };
  }
  const bracketed = /^\[([^\]]+)\]:([^:]*)$/.exec(spec);
  if (bracketed) {
    const [, host = '', port = ''] = bracketed;
    if (isIP(host) !== 6) throw invalidOption(option, spec, `an IPv6 address inside the brackets`);
    return { type: 'tcp', host, port: whole(spec, option, () => parsePort(port, option)) };
  }
  if (spec.startsWith('[')) throw invalidOption(option, spec, 'a port after the IPv6 address, e.g. [::1]:8080');
  const colon = spec.lastIndexOf(':');
  if (colon <= 0) throw invalidOption(option, spec, BIND_FORMS);
  const host = spec.slice(0, colon);
  if (host.includes(':')) throw invalidOption(option, spec, `an IPv6 address in brackets, e.g. [${host}]:8080`);
  return { type: 'tcp', host, port: whole(spec, option, () => parsePort(spec.slice(colon + 1), option)) };
}

/** Reports a bad part (the port, the fd) with the whole spec, which is what the user typed. */
function whole<T>(spec: string, option: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    const expected = /\(expected (.*)\)$/.exec((error as Error).message)?.[1] ?? 'a valid value';
    throw invalidOption(option, spec, expected);
  }
}

function parseInteger(value: string | number, option: string, min: number, max: number, expected: string): number {
  const text = String(value).trim();
  const number = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) throw invalidOption(option, value, expected);
  return number;
}

export function parsePort(value: string | number, option = '--port'): number {
  return parseInteger(value, option, 0, 65535, 'an integer from 0 to 65535');
}

export function parseFd(value: string | number, option = '--fd'): number {
  return parseInteger(value, option, 0, 2 ** 31 - 1, 'a file descriptor number, 0 or more');
}

export function parseBacklog(value: string | number, option = '--backlog'): number {
  return parseInteger(value, option, 1, 2 ** 31 - 1, 'a positive integer');
}

/** An octal file mode such as `660`, `0660` or `0o660`. */
export function parseSocketMode(value: string | number, option = '--socket-mode'): number {
  const text = String(value).trim().replace(/^0o/i, '');
  if (!/^[0-7]{3,4}$/.test(text)) throw invalidOption(option, value, 'an octal file mode such as 660');
  return Number.parseInt(text, 8);
}

/** The one way chaussette writes an address: `127.0.0.1:8080`, `[::1]:8080`, `unix:/run/app.sock`, `fd://3 (…)`. */
export function formatAddress(address: BoundAddress | BindSpec): string {
  switch (address.type) {
    case 'tcp':
      return isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
    case 'unix':
      return `unix:${address.path || '(unnamed)'}`;
    case 'fd':
      return `fd://${address.fd}`;
  }
}

/** Formats where a server listens: the bound address, and for an inherited socket its fd first. */
export function formatListenAddress(target: ListenTarget, bound: BoundAddress): string {
  return target.type === 'fd' ? `fd://${target.fd} (${formatAddress(bound)})` : formatAddress(bound);
}

