import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'example-backend-on-demand-tls', include: ['test/**/*.test.js'], testTimeout: 30_000 },
});
