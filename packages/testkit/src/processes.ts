// The kit's child processes: a listening socket to hand over as an inherited fd, and a child's output and exit.
import type { spawn } from 'node:child_process';
import type { Socket as DatagramSocket } from 'node:dgram';
import { once } from 'node:events';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/** A listening socket on 127.0.0.1, or on the unix socket `path`, owned by the test as a process manager owns one. */
export async function listeningServer(path?: string): Promise<Server> {
  const server = createServer();
  if (path) server.listen(path);
  else server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/** The fd of a listening net.Server, to pass to a child process (spawn's stdio takes no server). */
export function socketFd(server: Server): number {
  const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('this server has no file descriptor to pass on');
  return fd;
}

/**
 * The fd of a bound IPv4 UDP socket, found as Linux shows it (its port in /proc/net/udp, that inode
 * among /proc/self/fd): dgram keeps its handle where no public member reaches it.
 */
export function datagramSocketFd(socket: DatagramSocket): number {
  const port = socket.address().port.toString(16).toUpperCase().padStart(4, '0');
  const entry = readFileSync('/proc/net/udp', 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find((fields) => fields[1]?.endsWith(`:${port}`));
  const link = `socket:[${entry?.[9]}]`;
  const fd = readdirSync('/proc/self/fd').find((name) => {
    try {
      return readlinkSync(`/proc/self/fd/${name}`) === link;
    } catch {
      return false; // closed since the listing
    }
  });
  if (!entry || fd === undefined) throw new Error(`no file descriptor of this process is the UDP socket on port ${socket.address().port}`);
  return Number(fd);
}

/** A child's output, line by line. */
export function lineReader(stream: NodeJS.ReadableStream): { next(): Promise<string> } {
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    for (let index = buffer.indexOf('\n'); index >= 0; index = buffer.indexOf('\n')) {
      const line = buffer.slice(0, index);
      buffer = buffer.slice(index + 1);
      const waiter = waiting.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  return {
    next: () => {
      const line = lines.shift();
      return line === undefined ? new Promise((resolve) => waiting.push(resolve)) : Promise.resolve(line);
    },
  };
}

export async function exitCode(child: ReturnType<typeof spawn>): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}
