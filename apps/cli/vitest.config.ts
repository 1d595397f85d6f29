import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'cli', include: ['src/**/*.spec.ts', 'test/**/*.test.ts'], testTimeout: 20_000, hookTimeout: 20_000 },
});
