export default async function hello(fastify) {
  fastify.get('/', async (request, reply) => reply.type('text/plain').send('Hello world!\n'));
}
