import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'backend-node', include: ['src/**/*.spec.ts'] },
});
