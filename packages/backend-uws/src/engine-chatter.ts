// uWebSockets.js prints to the process's standard output from C when an app browses to an SNI server
// name (`finding sni.test`, `Browsed to SNI: sni.test`), where chaussette's access log may go. Those
// calls run with fd 1 pointed at /dev/null, and C's stdout buffer flushed before fd 1 comes back.
import { closeSync, openSync } from 'node:fs';
import { loadKoffi } from './adopt-fd.js';

interface Stdio {
  dup(fd: number): number;
  dup2(oldFd: number, newFd: number): number;
  fflush(stream: null): number;
}

const STDOUT = 1;
let stdio: Stdio | null | undefined;

function loadStdio(): Stdio | null {
  if (stdio !== undefined) return stdio;
  stdio = null;
  if (process.platform !== 'linux') return stdio;
  try {
    const koffi = loadKoffi();
    const library = koffi.load('libc.so.6');
    const dup = library.func('int dup(int oldfd)');
    const dup2 = library.func('int dup2(int oldfd, int newfd)');
    const fflush = library.func('int fflush(void *stream)');
    stdio = { dup: (fd) => dup(fd) as number, dup2: (oldFd, newFd) => dup2(oldFd, newFd) as number, fflush: (stream) => fflush(stream) as number };
  } catch {
    // without koffi the lines are printed: a nuisance, not a fault
  }
  return stdio;
}

/** Runs `call` (synchronous) with what the engine prints to standard output discarded. */
export function withoutEngineChatter<T>(call: () => T): T {
  const libc = loadStdio();
  const saved = libc ? libc.dup(STDOUT) : -1;
  if (!libc || saved < 0) return call();
  const devNull = openSync('/dev/null', 'w');
  try {
    libc.fflush(null);
    libc.dup2(devNull, STDOUT);
    return call();
  } finally {
    libc.fflush(null);
    libc.dup2(saved, STDOUT);
    closeSync(saved);
    closeSync(devNull);
  }
}

