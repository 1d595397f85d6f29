import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'backend-fastify', include: ['src/**/*.spec.ts'] },
});
