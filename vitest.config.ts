import { defineConfig } from 'vitest/config';

// One run over every package, so CI gets one set of totals per Node release: each run's report is named
// after the Node that ran it (scripts/test-runtimes.mjs runs the tests on every supported one).
export default defineConfig({
  test: {
    projects: [
      'packages/*',
      'apps/*',
      'examples/backend-on-demand-tls',
      { test: { name: 'repo', include: ['tests/**/*.test.ts'] } },
      // The benchmark's smoke test loads both cores: it runs after everything else.
      { test: { name: 'bench', include: ['bench/**/*.test.ts'], sequence: { groupOrder: 1 } } },
    ],
    reporters: ['default', 'json'],
    outputFile: { json: `.reports/vitest-node-${process.versions.node}.json` },
  },
});
