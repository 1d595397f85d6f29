import { fstatSync, readFileSync, type Stats } from 'node:fs';
import { ChaussetteError, errorCode } from './errors.js';

export type SocketFamily = 'tcp' | 'unix';

/** What an inherited fd turned out to be: its family, and a unix socket's file when it has one. */
export interface InheritedSocket {
  family: SocketFamily;
  path?: string;
}

const TCP_STATES: Record<string, string> = {
  '01': 'ESTABLISHED', '02': 'SYN_SENT', '03': 'SYN_RECV', '04': 'FIN_WAIT1', '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT', '07': 'CLOSE', '08': 'CLOSE_WAIT', '09': 'LAST_ACK', '0A': 'LISTEN', '0B': 'CLOSING',
};
const TCP_LISTEN = '0A';
// From linux/net.h: SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET; and __SO_ACCEPTCON in /proc/net/unix's Flags.
const UNIX_TYPES: Record<string, string> = { '0001': 'stream', '0002': 'datagram', '0005': 'seqpacket' };
const UNIX_ACCEPTING = 0x10000;

/**
 * Checks that `fd` is open and is a listening stream socket, and tells its family.
 * Without this, listening on a bound-but-idle or unbound socket would silently make a new one.
 * The socket's kind comes from the kernel's tables in /proc/net, matched by the inode fstat gives.
 */
export function inspectInheritedSocket(fd: number, source = `--fd ${fd}`): InheritedSocket {
  let stats: Stats;
  try {
    stats = fstatSync(fd);
  } catch (error) {
    if (errorCode(error) === 'EBADF') {
      throw new ChaussetteError(
        `${source}: file descriptor ${fd} is not open in this process. The process that starts chaussette must pass it a listening socket as fd ${fd} (Circus: $(circus.sockets.NAME); Supervisor's fcgi-program: --fd 0)`,
        { cause: error },
      );
    }
    throw error;
  }
  if (!stats.isSocket()) {
    throw new ChaussetteError(
      `${source}: file descriptor ${fd} is ${describeFileType(stats)}, not a socket. The process that starts chaussette must pass it a listening socket as fd ${fd} (Circus: use_sockets = True and $(circus.sockets.NAME); Supervisor's fcgi-program: --fd 0)`,
    );
  }
  const entry = findSocketEntry(stats.ino);
  if (entry === 'unknown') return { family: 'tcp' }; // no /proc/net here (not Linux): let the server's listen() decide
  if (entry === undefined) {
    throw notListening(source, fd, 'a socket that is not listening (unbound, or not a TCP or unix socket)');
  }
  if (entry.table !== 'unix') {
    if (entry.table === 'udp') throw notListening(source, fd, 'a UDP (datagram) socket');
    if (entry.state !== TCP_LISTEN) {
      throw notListening(source, fd, `a TCP socket that is not listening (state ${TCP_STATES[entry.state] ?? entry.state})`);
    }
    return { family: 'tcp' };
  }
  const type = UNIX_TYPES[entry.type] ?? `type ${entry.type}`;
  if (type !== 'stream') throw notListening(source, fd, `a unix ${type} socket`);
  if ((Number.parseInt(entry.flags, 16) & UNIX_ACCEPTING) === 0) {
    throw notListening(source, fd, 'a unix stream socket that is not listening');
  }
  return entry.path ? { family: 'unix', path: entry.path } : { family: 'unix' };
}

function notListening(source: string, fd: number, what: string): ChaussetteError {
  return new ChaussetteError(
    `${source}: file descriptor ${fd} is ${what}; chaussette needs a listening stream socket (bound, and listen() called)`,
  );
}

function describeFileType(stats: Stats): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a pipe';
  if (stats.isCharacterDevice()) return 'a terminal or character device';
  if (stats.isBlockDevice()) return 'a block device';
  return "one of this process's own (an event queue or the like)";
}

type SocketEntry =
  | { table: 'tcp' | 'udp'; state: string }
  | { table: 'unix'; type: string; flags: string; path: string | undefined };

function findSocketEntry(inode: number): SocketEntry | undefined | 'unknown' {
  const wanted = String(inode);
  let sawTable = false;
  for (const [file, table] of [
    ['tcp', 'tcp'], ['tcp6', 'tcp'], ['udp', 'udp'], ['udp6', 'udp'],
  ] as const) {
    const rows = readSocketTable(file);
    if (rows === undefined) continue;
    sawTable = true;
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    const row = rows.find((fields) => fields[9] === wanted);
    if (row) return { table, state: row[3] ?? '' };
  }
  const unixRows = readSocketTable('unix');
  if (unixRows !== undefined) {
    sawTable = true;
    // Num RefCount Protocol Flags Type St Inode Path
    const row = unixRows.find((fields) => fields[6] === wanted);
    // An abstract socket's name starts with @; a file path is what users know it by.
    if (row) return { table: 'unix', flags: row[3] ?? '0', type: row[4] ?? '', path: row[7]?.startsWith('/') ? row[7] : undefined };
  }
  return sawTable ? undefined : 'unknown';
}

/**
 * One of the kernel's socket tables (/proc/net/tcp…), as rows of whitespace-separated fields, header
 * left out; undefined where there is none (not Linux). tcp and udp: `sl local_address rem_address st
 * tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode`; unix: `Num RefCount Protocol Flags Type St Inode Path`.
 */
export function readSocketTable(table: 'tcp' | 'tcp6' | 'udp' | 'udp6' | 'unix'): string[][] | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/net/${table}`, 'latin1');
  } catch {
    return undefined;
  }
  return text.split('\n').slice(1).map((line) => line.trim().split(/\s+/));
}

/** sd_listen_fds(3): passed sockets start at fd 3. https://www.freedesktop.org/software/systemd/man/sd_listen_fds.html */
export const SD_LISTEN_FDS_START = 3;

export interface SystemdSocket {
  fd: number;
  /** From LISTEN_FDNAMES; systemd's default name is `unknown`. */
  name: string;
}

/**
 * The sockets systemd passed to this process, or undefined when none were meant for it:
 * like sd_listen_fds(), only when LISTEN_PID is this process (a parent's LISTEN_FDS is not ours).
 */
export function systemdSockets(env: NodeJS.ProcessEnv = process.env, pid = process.pid): SystemdSocket[] | undefined {
  if (env.LISTEN_FDS === undefined || env.LISTEN_PID !== String(pid)) return undefined;
  const count = Number(env.LISTEN_FDS);
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new ChaussetteError(`LISTEN_FDS=${JSON.stringify(env.LISTEN_FDS)} is not a number of sockets; check the systemd socket unit`);
  }
  const names = env.LISTEN_FDNAMES?.split(':') ?? [];
  return Array.from({ length: count }, (_, index) => ({
    fd: SD_LISTEN_FDS_START + index,
    name: names[index] || 'unknown',
  }));
}

/** As sd_listen_fds(unset_environment=1): the app's own child processes must not take these sockets for theirs. */
export function forgetSystemdEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
}
