import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'example-backend-https', include: ['test/**/*.test.js'], testTimeout: 30_000 },
});
