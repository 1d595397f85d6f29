// The Fastify baseline: the same plugin on a plain fastify.listen(), with a pino logger at level error as
// `fastify start` runs it (it always gives Fastify a logger), and as chaussette does.
import Fastify from 'fastify';
import plugin from './plugin.mjs';

const app = Fastify({ logger: { level: 'error' } });
await app.register(plugin);
await app.listen({ port: Number(process.argv[2]), host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
