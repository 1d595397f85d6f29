// A backend that speaks TLS and HTTP/2 but keeps none of chaussette's promises, for tls-http2.spec.ts:
// TLS 1.0 and suites without forward secrecy allowed, no SNI, no client certificates, no limits, no
// updateTls, h2c without HTTP/1.1 beside it. Node apps only, on node:http2 with node's defaults.
import { once } from 'node:events';
import { createSecureServer, createServer } from 'node:http2';

const WEAK = { minVersion: 'TLSv1', ciphers: 'DEFAULT:AES128-GCM-SHA256:@SECLEVEL=0' };

export default {
  name: 'lax',
  appKinds: ['node'],
  supports: { tls: true, http2: true },
  async serve(app, target, { tls }) {
    const listener = (req, res) => Promise.resolve(app.listener(req, res)).catch(() => res.writeHead(500).end());
    const server = tls
      ? createSecureServer({ ...WEAK, cert: tls.certificates[0].cert, key: tls.certificates[0].key, allowHTTP1: true, ALPNProtocols: ['h2', 'http/1.1'] }, listener)
      : createServer(listener);
    const sessions = new Set();
    server.on('session', (session) => {
      sessions.add(session);
      session.on('close', () => sessions.delete(session));
    });
    const sockets = new Set();
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    server.listen(target.type === 'unix' ? { path: target.path } : target.type === 'fd' ? { fd: target.fd } : { host: target.host, port: target.port });
    await once(server, 'listening');
    const bound = server.address();
    return {
      address: typeof bound === 'string' ? { type: 'unix', path: bound } : { type: 'tcp', host: bound.address, port: bound.port },
      async close(timeoutMs) {
        const closed = new Promise((resolve) => server.close(resolve));
        for (const session of sessions) session.close();
        const timer = setTimeout(() => sockets.forEach((socket) => socket.destroy()), timeoutMs);
        await closed;
        clearTimeout(timer);
      },
    };
  },
};
