// The Fastify plugin: served by raw Fastify (fastify.listen) and by chaussette's fastify backend.
import { Readable } from 'node:stream';
import workloads from './workloads.cjs';

const { hello, json, CHUNK, CHUNKS } = workloads;

function* chunks() {
  for (let sent = 0; sent < CHUNKS; sent++) yield CHUNK;
}

export default async function app(fastify) {
  fastify.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (request, body, done) => done(null, body));
  fastify.get('/', async (request, reply) => reply.type('text/plain').send(hello));
  fastify.get('/json', async (request, reply) => reply.type('application/json').send(json()));
  fastify.post('/echo', async (request, reply) => reply.type('application/octet-stream').send(request.body));
  fastify.get('/stream', async (request, reply) => reply.type('application/octet-stream').send(Readable.from(chunks(), { objectMode: false })));
}
