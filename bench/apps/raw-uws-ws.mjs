// The uWebSockets.js baseline: its own WebSocket echo, as its examples write it.
import { loadUws } from '@chaussette/backend-uws/engine';

// The build the uws backend runs, loaded as it loads it.
const { uws } = loadUws();
uws
  .App()
  .ws('/*', { message: (ws, message, isBinary) => ws.send(message, isBinary) })
  .get('/*', (res) => res.end('WebSocket echo\n'))
  .listen('127.0.0.1', Number(process.argv[2]), (socket) => socket || process.exit(1));
process.on('SIGTERM', () => process.exit(0));
