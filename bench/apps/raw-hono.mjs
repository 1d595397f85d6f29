// The fetch-app baseline: the fetch app on @hono/node-server, the usual way to serve one on Node.
import { serve } from '@hono/node-server';
import app from './fetch.mjs';

const server = serve({ fetch: app.fetch, port: Number(process.argv[2]), hostname: '127.0.0.1' });
process.on('SIGTERM', () => server.close(() => process.exit(0)));
