import { detectApp, type RunningServer, startServer } from '@chaussette/core';
import { recordingLogger, request } from '@chaussette/testkit';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { afterEach, describe, expect, test } from 'vitest';
import fastifyBackend, { isFastifyPlugin } from './index.js';

let server: RunningServer | undefined;
afterEach(() => server?.close(1000));

async function serve(value: unknown) {
  const app = detectApp(value, 'test app', { backend: fastifyBackend });
  server = await startServer({ app, backend: fastifyBackend, targets: [{ type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 }], logger: recordingLogger() });
  return { app, address: server.listening[0]!.bound };
}

describe('Fastify apps, served natively', () => {
  test('a plugin as `fastify start` loads it: routes, JSON bodies, 404s from Fastify', async () => {
    const plugin = async function routes(fastify: FastifyInstance) {
      fastify.post('/items', async (request) => ({ created: request.body }));
      fastify.get('/items/:id', async (request) => ({ id: (request.params as { id: string }).id }));
    };
    const { app, address } = await serve(plugin);
    expect(app.description).toBe('a Fastify plugin routes (served natively)');
    const created = await request(address, '/items', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' });
    expect(JSON.parse(created.body.toString())).toEqual({ created: { n: 1 } });
    expect(JSON.parse((await request(address, '/items/7')).body.toString())).toEqual({ id: '7' });
    const missing = await request(address, '/nope');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body.toString())).toMatchObject({ message: 'Route GET:/nope not found' });
  });

  test('a plugin wrapped in fastify-plugin, with its decorators', async () => {
    const plugin = fastifyPlugin(async (instance: FastifyInstance) => {
      instance.decorate('greeting', 'hi');
      instance.get('/', async function () {
        return { greeting: (this as FastifyInstance & { greeting: string }).greeting };
      });
    });
    const { address } = await serve(plugin);
    expect(JSON.parse((await request(address, '/')).body.toString())).toEqual({ greeting: 'hi' });
  });

  test('an instance: its hooks run, and close() runs its onClose hooks', async () => {
    const instance = Fastify();
    const events: string[] = [];
    instance.addHook('onReady', async () => void events.push('ready'));
    instance.addHook('onClose', async () => void events.push('closed'));
    instance.get('/', async () => 'native');
    const { app, address } = await serve(instance);
    expect(app.description).toBe('a Fastify instance (served natively)');
    expect((await request(address, '/')).body.toString()).toBe('native');
    await server!.close(1000);
    expect(events).toEqual(['ready', 'closed']);
  });
});

test('an instance on two sockets is refused with a way out; a plugin is served on both', async () => {
  const targets = [0, 0].map(() => ({ type: 'tcp' as const, host: '127.0.0.1', port: 0, backlog: 511 }));
  const instance = Fastify();
  const app = detectApp(instance, 'x', { backend: fastifyBackend });
  await expect(startServer({ app, backend: fastifyBackend, targets, logger: recordingLogger() })).rejects.toThrow(
    'A Fastify instance listens on one socket only',
  );
  const plugin = async (fastify: FastifyInstance) => void fastify.get('/', async () => 'both');
  server = await startServer({ app: detectApp(plugin, 'x', { backend: fastifyBackend }), backend: fastifyBackend, targets, logger: recordingLogger() });
  for (const { bound } of server.listening) expect((await request(bound, '/')).body.toString()).toBe('both');
});

describe('isFastifyPlugin', () => {
  test.each([
    ['async function (fastify, opts) {}', true],
    ['async (app) => {}', true],
    ['function plugin(instance, opts, done) { done() }', true],
    ['(req, res) => {}', false],
    ['async function handler(request) {}', false],
    ['function listener(req, res, next) {}', false],
    // The function's name is no parameter.
    ['function app(req, res) {}', false],
    ['async function server(request) {}', false],
    ['fastify => {}', true],
    ['async fastify => {}', true],
    ['function* f(fastify) {}', true],
  ])('%s → %s', (source, expected) => {
    expect(isFastifyPlugin((0, eval)(`(${source})`))).toBe(expected);
  });
});

describe('backendOptions: the Fastify factory options, from the config file', () => {
  const plugin = async function routes(fastify: FastifyInstance) {
    fastify.post('/echo', async (request) => ({ got: request.body }));
    fastify.get('/ip', async (request) => ({ ip: request.ip }));
  };
  const serveWith = async (backendOptions: Record<string, unknown>) => {
    const app = detectApp(plugin, 'test app', { backend: fastifyBackend });
    server = await startServer({ app, backend: fastifyBackend, targets: [{ type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 }], logger: recordingLogger(), backendOptions });
    return server.listening[0]!.bound;
  };

  test('bodyLimit and trustProxy reach Fastify', async () => {
    const address = await serveWith({ bodyLimit: 16, trustProxy: true });
    const small = await request(address, '/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(JSON.parse(small.body.toString())).toEqual({ got: { a: 1 } });
    const large = await request(address, '/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: 'x'.repeat(100) }) });
    expect(large.status).toBe(413);
    const proxied = await request(address, '/ip', { headers: { 'x-forwarded-for': '203.0.113.7' } });
    expect(JSON.parse(proxied.body.toString())).toEqual({ ip: '203.0.113.7' });
  });

  test("chaussette's own options are refused with the reason, and so is any option for an exported instance", async () => {
    await expect(serveWith({ logger: true })).rejects.toThrow('backendOptions.logger cannot be set: chaussette gives Fastify its logger: use --log-level and --log-output');
    const instance = Fastify();
    const app = detectApp(instance, 'test app', { backend: fastifyBackend });
    await expect(
      startServer({ app, backend: fastifyBackend, targets: [{ type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 }], logger: recordingLogger(), backendOptions: { bodyLimit: 1 } }),
    ).rejects.toThrow('an exported instance keeps the options it was made with');
  });
});
