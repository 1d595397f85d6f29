// A backend that cannot speak HTTP at all, for baseline.spec.ts: it accepts every connection and closes it
// at once (KIT_BROKEN=close), or answers its first bytes with garbage (KIT_BROKEN=garbage). It lists every
// feature, so that every concern of the kit runs on it, and every case must fail.
import { once } from 'node:events';
import { createServer } from 'node:net';

const mode = process.env.KIT_BROKEN ?? 'close';

function listenOptions(target) {
  if (target.type === 'tcp') return { host: target.host, port: target.port, backlog: target.backlog };
  if (target.type === 'unix') return { path: target.path, backlog: target.backlog };
  return { fd: target.fd, backlog: target.backlog };
}

export default {
  name: 'broken',
  appKinds: ['node', 'fetch'],
  supports: { tls: true, http2: true, websocket: true },
  async serve(_app, target) {
    const sockets = new Set();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket)).on('error', () => {});
      if (mode === 'garbage') socket.once('data', () => socket.end('GARBAGE \x00\r\n\r\n'));
      else socket.destroy();
    });
    server.listen(listenOptions(target));
    await once(server, 'listening');
    const bound = server.address();
    return {
      address: typeof bound === 'string' ? { type: 'unix', path: bound } : { type: 'tcp', host: bound.address, port: bound.port },
      async close() {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  },
};
