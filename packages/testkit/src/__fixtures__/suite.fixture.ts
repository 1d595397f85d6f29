// The whole suite, for names.spec.ts to list (`vitest list` collects the cases without running them)
// or to run with knownFailures from KIT_KNOWN_FAILURES (a JSON array). The backend is never resolved
// by a listing; a run with a bad knownFailures name fails before it is.
import { runConformanceSuite } from '../index.js';

runConformanceSuite({
  backend: 'kit-fixture',
  knownFailures: JSON.parse(process.env.KIT_KNOWN_FAILURES ?? '[]') as string[],
});
