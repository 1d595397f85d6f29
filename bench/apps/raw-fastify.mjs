// The Fastify baseline: the same plugin on a plain fastify.listen(); with --logger, a pino logger at
// level error, as chaussette gives Fastify (its own per-request work for a logger included).
import Fastify from 'fastify';
import hello from './hello-plugin.mjs';

const app = Fastify({ logger: process.argv.includes('--logger') ? { level: 'error' } : false });
await app.register(hello);
await app.listen({ port: Number(process.argv[2]), host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
