import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'node-http', include: ['src/**/*.spec.ts'] },
});
