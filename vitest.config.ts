import { defineConfig } from 'vitest/config';

// One run over every package, so CI gets one set of totals (.reports/vitest.json).
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', { test: { name: 'repo', include: ['tests/**/*.test.ts'] } }],
    reporters: ['default', ['json', { outputFile: '.reports/vitest.json' }]],
  },
});
