// The baseline a user would pick instead of Node: the fetch app on Bun.serve(), run by bun (npm package `bun`).
import app from './fetch.mjs';

const server = Bun.serve({ fetch: app.fetch, port: Number(process.argv[2]), hostname: '127.0.0.1' });
process.on('SIGTERM', () => {
  server.stop();
  process.exit(0);
});
