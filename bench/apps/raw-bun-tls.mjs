// The baseline a user would pick instead of Node, over TLS: the fetch app on Bun.serve() with `tls`, run by
// bun (npm package `bun`). Arguments: port, certificate file, key file.
import app from './fetch.mjs';

const [port, certFile, keyFile] = process.argv.slice(2);
const server = Bun.serve({ fetch: app.fetch, port: Number(port), hostname: '127.0.0.1', tls: { cert: Bun.file(certFile), key: Bun.file(keyFile) } });
process.on('SIGTERM', () => {
  server.stop();
  process.exit(0);
});
