import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'backend-uws', include: ['src/**/*.spec.ts'] },
});
