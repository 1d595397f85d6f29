// The node:http baseline: the node app with no server in between.
import { createServer } from 'node:http';
import app from './node.cjs';

const server = createServer(app).listen(Number(process.argv[2]), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
