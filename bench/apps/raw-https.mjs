// The node:https baseline: the node app with no server in between. Arguments: port, certificate file, key file.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import app from './node.cjs';

const [port, certFile, keyFile] = process.argv.slice(2);
const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, app).listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
