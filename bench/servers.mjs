// The servers both run.mjs (requests per second) and instructions.mjs (instructions per request) measure.
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const cli = here('../apps/cli/bin/chaussette.js');
const raw = (name, script) => ({ name, args: (port) => [here(`apps/${script}`), String(port)] });
const bun = here('node_modules/bun/bin/bun.exe'); // the binary itself: its CPU and memory are measured
const chaussette = (backend, app, kind) => ({
  name: `chaussette ${backend}, ${kind}`,
  args: (port) => [cli, here(`apps/${app}`), '--backend', backend, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'error'],
});

/** Each: a name, and the arguments to run it with (node, unless `command` says otherwise) on a port. */
export const SERVERS = {
  rawNode: raw('raw node:http', 'raw-node.mjs'),
  rawNodeAgain: raw('raw node:http, a second process', 'raw-node.mjs'),
  hono: raw('@hono/node-server', 'raw-hono.mjs'),
  // With a logger, as `fastify start` runs a plugin and as chaussette's fastify backend does.
  rawFastify: raw('raw Fastify', 'raw-fastify.mjs'),
  rawUws: raw('raw uWebSockets.js', 'raw-uws.mjs'),
  bunServe: { ...raw('Bun.serve()', 'raw-bun.mjs'), command: bun },
  nodeNode: chaussette('node', 'node.cjs', 'node app'),
  nodeFetch: chaussette('node', 'fetch.mjs', 'fetch app'),
  fastifyPlugin: chaussette('fastify', 'plugin.mjs', 'Fastify plugin'),
  fastifyNode: chaussette('fastify', 'node.cjs', 'node app'),
  fastifyFetch: chaussette('fastify', 'fetch.mjs', 'fetch app'),
  uwsFetch: chaussette('uws', 'fetch.mjs', 'fetch app'),
  uwsNode: chaussette('uws', 'node.cjs', 'node app'),
};
