import type { Server } from 'node:http';
import { createServer as createHttp2Server, type Http2Server } from 'node:http2';
import type { Socket } from 'node:net';
import { HTTP2_SETTINGS } from './tls.js';

/** RFC 9113 §3.4: a client that knows the server speaks HTTP/2 opens its connection with these bytes. */
export const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Connections whose first bytes have not told yet whether they speak HTTP/1.1 or HTTP/2 (see trackConnections). */
export const awaitingPreface = new WeakSet<Socket>();

/**
 * HTTP/2 with prior knowledge (h2c) beside HTTP/1.1 on `server`'s sockets: each connection's first bytes
 * decide. The preface hands it to an http2 server's sessions, whose requests are `server`'s 'request'
 * events (its limits, access log and app see them as HTTP/1.1 ones); anything else goes to node:http as
 * it would without h2c. Returns the http2 server, whose 'session' events tell its connections.
 */
export function acceptPriorKnowledgeHttp2(server: Server): Http2Server {
  const http2Server = createHttp2Server({ settings: HTTP2_SETTINGS });
  http2Server.on('request', (req, res) => server.emit('request', req, res));
  const http1Listeners = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    awaitingPreface.add(socket);
    readPreface(socket, (isHttp2) => {
      awaitingPreface.delete(socket);
      if (isHttp2) http2Server.emit('connection', socket);
      else for (const listener of http1Listeners) listener.call(server, socket);
    });
  });
  return http2Server;
}

/** Reads until the bytes are the preface or cannot be it, puts them back, and tells which. */
function readPreface(socket: Socket, decide: (isHttp2: boolean) => void): void {
  let received = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    const compared = Math.min(received.length, HTTP2_PREFACE.length);
    const matches = received.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared));
    if (matches && compared < HTTP2_PREFACE.length) return;
    socket.off('data', onData);
    socket.off('error', onError);
    socket.pause();
    socket.unshift(received);
    decide(matches);
    // node:http reads from the socket's handle and from its 'data' events: the bytes put back arrive there.
    if (!matches) process.nextTick(() => socket.resume());
  };
  // Until a server has it, a reset is this listener's to swallow (the socket closes, tracking forgets it).
  const onError = () => socket.destroy();
  socket.on('data', onData);
  socket.on('error', onError);
}
