// The uWebSockets.js baseline: its own WebSocket echo, as its examples write it.
import { createRequire } from 'node:module';

const uws = createRequire(import.meta.url)('uWebSockets.js');
uws
  .App()
  .ws('/*', { message: (ws, message, isBinary) => ws.send(message, isBinary) })
  .get('/*', (res) => res.end('WebSocket echo\n'))
  .listen('127.0.0.1', Number(process.argv[2]), (socket) => socket || process.exit(1));
process.on('SIGTERM', () => process.exit(0));
