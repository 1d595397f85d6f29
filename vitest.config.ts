import { defineConfig } from 'vitest/config';

// One run over every package, so CI gets one set of totals (.reports/vitest.json).
export default defineConfig({
  test: {
    projects: [
      'packages/*',
      'apps/*',
      'examples/backend-https',
      { test: { name: 'repo', include: ['tests/**/*.test.ts'] } },
      // The benchmark's smoke test loads both cores: it runs after everything else.
      { test: { name: 'bench', include: ['bench/**/*.test.ts'], sequence: { groupOrder: 1 } } },
    ],
    reporters: ['default', ['json', { outputFile: '.reports/vitest.json' }]],
  },
});
