import { defineConfig } from 'vitest/config';

// For names.spec.ts only, from the package's directory: the suite's cases, as a backend's test file has them.
export default defineConfig({
  test: { include: ['src/__fixtures__/*.fixture.ts'] },
});
