// The node:http2 baselines: the node app through node's compatibility API, with no server in between.
// Arguments: port, then a certificate and key file for http2.createSecureServer() (h2 by ALPN, and HTTP/1.1
// beside it as chaussette offers both), or none for http2.createServer() (h2c, prior knowledge only).
import { readFileSync } from 'node:fs';
import { createSecureServer, createServer } from 'node:http2';
import app from './node.cjs';

const [port, certFile, keyFile] = process.argv.slice(2);
const server = certFile ? createSecureServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), allowHTTP1: true }, app) : createServer(app);
server.listen(Number(port), '127.0.0.1');
// close() waits for every session: the load generators' sessions are gone by then.
process.on('SIGTERM', () => server.close(() => process.exit(0)));
