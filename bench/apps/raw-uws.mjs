// The uWebSockets.js baseline: its own hello world, no server in between.
import { createRequire } from 'node:module';

const uws = createRequire(import.meta.url)('uWebSockets.js');
const app = uws.App().get('/*', (res) => {
  res.cork(() => res.writeHeader('content-type', 'text/plain').end('Hello world!\n'));
});
app.listen('127.0.0.1', Number(process.argv[2]), (socket) => {
  if (!socket) process.exit(1);
  process.on('SIGTERM', () => {
    uws.us_listen_socket_close(socket);
    process.exit(0);
  });
});
