// The `ws` baseline: a WebSocketServer on node:http, echoing, as ws's README writes it.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const server = createServer((req, res) => res.end('WebSocket echo\n'));
new WebSocketServer({ server }).on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
server.listen(Number(process.argv[2]), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
