import { detectApp, startServer } from '@chaussette/core';
import { expect, test } from 'vitest';
import nodeBackend from './index.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

test('the node backend takes no backendOptions, and says so', async () => {
  const app = detectApp((_req: unknown, res: { end(): void }) => res.end(), 'test app', { backend: nodeBackend });
  await expect(
    startServer({ app, backend: nodeBackend, targets: [{ type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 }], logger: quiet, backendOptions: { bodyLimit: 1 } }),
  ).rejects.toThrow('The node backend takes no backendOptions (given: bodyLimit); remove them from the config file');
});
