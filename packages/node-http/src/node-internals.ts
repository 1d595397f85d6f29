// The members of node:http's objects that Node does not document and this package reads, each behind one
// function here, each with a test named after it in node-internals.spec.ts: a Node release that changes
// one fails the test that says which, on the version that changed it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

type HttpSocket = Duplex & {
  _httpMessage?: (ServerResponse & { _headerSent?: boolean }) | null;
  parser?: { incoming?: IncomingMessage | null } | null;
  _handle?: { fd?: number } | null;
};

/**
 * The response node:http writes on a connection now (`socket._httpMessage`): set when a request's
 * response is created, cleared once it finished; a pipelined request's response waits behind it.
 */
export function responseUnderWay(socket: Duplex): (ServerResponse & { _headerSent?: boolean }) | null | undefined {
  return (socket as HttpSocket)._httpMessage;
}

/** The response's head is on the socket (`res._headerSent`): `headersSent` is true from writeHead() on, before it is written. */
export function headWritten(res: ServerResponse): boolean {
  return (res as ServerResponse & { _headerSent?: boolean })._headerSent === true;
}

/** The head as node:http wrote it (`res._header`), headers given to writeHead() included, which getHeader() never shows. */
export function headAsSent(res: ServerResponse): string | undefined {
  const head = (res as ServerResponse & { _header?: string | null })._header;
  return typeof head === 'string' ? head : undefined;
}

/** The connection speaks HTTP still (`socket.parser`): node:http frees the parser when the connection is upgraded or closed. */
export function parsesHttp(socket: Duplex): boolean {
  return (socket as HttpSocket).parser != null;
}

/** The request node:http's parser reads now (`socket.parser.incoming`), whose body may still be arriving. */
export function requestBeingParsed(socket: Duplex): IncomingMessage | null | undefined {
  return (socket as HttpSocket).parser?.incoming;
}

/** The connection's file descriptor (`socket._handle.fd`), for getsockopt(). */
export function socketFd(socket: Duplex): number | undefined {
  const fd = (socket as HttpSocket)._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * Calls `onChunk` with each chunk of the request's body as node:http's parser hands it over: the parser
 * calls `req.push()` for every chunk (its parserOnBody), as node:http2's compatibility request does for
 * each DATA frame (its onStreamData), so counting there costs the reader nothing.
 * `onChunk` returns false to stop the body (push then returns false, which also stops reading the socket).
 */
export function interceptBodyChunks(req: IncomingMessage, onChunk: (chunk: Buffer) => boolean): void {
  const push = req.push;
  req.push = function (chunk: Buffer | null, encoding?: BufferEncoding) {
    if (chunk !== null && !onChunk(chunk)) {
      req.push = () => false;
      return false;
    }
    return push.call(this, chunk, encoding);
  };
}

/** The TCP or unix socket a TLS server's socket reads from (`tlsSocket._parent`), where getsockopt() applies. */
export function rawSocketOf(socket: Duplex): Duplex | undefined {
  return (socket as Duplex & { _parent?: Duplex | null })._parent ?? undefined;
}
