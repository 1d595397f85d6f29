// Serves the conformance app on an inherited fd (fd 3), for the kit's process tests:
//   node fd-child.js <backend> <searchFrom-json> <node|fetch> [backendOptions-json] [tlsRequest-json]
// (tlsRequest: loadTls()'s argument, to serve TLS on the fd).
// Prints `listening <address>` once ready and `slow-started` when the app sees /slow;
// on SIGTERM closes gracefully and exits 0.
import { inspectInheritedSocket, loadTls, resolveBackend, startServer, type TlsRequest } from '@chaussette/core';
import { createFixtureApps } from './apps.js';

const [backendSpec = 'node', searchFrom = '[]', kind = 'node', backendOptions = '{}', tlsRequest] = process.argv.slice(2);
const backend = await resolveBackend(backendSpec, { searchFrom: JSON.parse(searchFrom) as string[] });
const fixtures = createFixtureApps();
fixtures.events.on('slow-started', () => process.stdout.write('slow-started\n'));
const fd = 3;
const server = await startServer({
  app: kind === 'fetch' ? fixtures.fetch : fixtures.node,
  backend,
  targets: [{ type: 'fd', fd, ...inspectInheritedSocket(fd), backlog: 511 }],
  logger: { debug() {}, info() {}, warn: console.warn, error: (object, message) => console.error(message, object.err) },
  backendOptions: JSON.parse(backendOptions) as Record<string, unknown>,
  tls: tlsRequest ? await loadTls(JSON.parse(tlsRequest) as TlsRequest) : undefined,
});
process.stdout.write(`listening ${server.listening[0]?.address}\n`);
process.once('SIGTERM', () => {
  server.close(5000).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});
