import { chmod, lstat, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { ChaussetteError, errorCode, errorMessage } from './errors.js';

/**
 * Makes `path` free for a new unix socket: removes a socket file left by a dead server, and refuses
 * to touch a live socket, a symbolic link or any other file. Returns true when a stale socket was removed.
 * `answeringIsShared`: a live socket is left as it is (a node:cluster primary's, shared with its workers).
 */
export async function removeStaleUnixSocket(path: string, { answeringIsShared = false } = {}): Promise<boolean> {
  let stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw new ChaussetteError(`Cannot check unix:${path}: ${errorMessage(error)}`, { cause: error });
  }
  if (stats.isSymbolicLink()) {
    throw new ChaussetteError(
      `unix:${path} is a symbolic link; chaussette does not follow links for its socket. Give the real path, or remove the link`,
    );
  }
  if (!stats.isSocket()) {
    throw new ChaussetteError(
      `unix:${path} exists and is not a socket; chaussette will not delete it. Remove it or choose another socket path`,
    );
  }
  if (await isAnswering(path)) {
    if (answeringIsShared) return false;
    throw new ChaussetteError(
      `unix:${path} is in use: another server is listening on it. Stop that server or choose another socket path`,
    );
  }
  try {
    await unlink(path);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') {
      throw new ChaussetteError(`Cannot remove the stale socket unix:${path}: ${errorMessage(error)}`, { cause: error });
    }
  }
  return true;
}

function isAnswering(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    // ECONNREFUSED means nobody listens: a stale file. A timeout means a live server with a full backlog.
    socket.once('timeout', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (error) => resolve(errorCode(error) !== 'ECONNREFUSED' && errorCode(error) !== 'ENOENT'));
  });
}

/** The socket file a server created, so that it is removed on exit only while it is still ours. */
export interface OwnedSocketFile {
  path: string;
  remove(): Promise<void>;
}

export async function ownSocketFile(path: string, mode: number | undefined): Promise<OwnedSocketFile> {
  if (mode !== undefined) await chmod(path, mode);
  const { ino } = await lstat(path);
  return {
    path,
    async remove() {
      try {
        const now = await lstat(path);
        // A newer server (a rolling restart) may have put its own socket at this path since.
        if (now.isSocket() && now.ino === ino) await unlink(path);
      } catch (error) {
        if (errorCode(error) !== 'ENOENT') throw error;
      }
    },
  };
}
