import { fileURLToPath } from 'node:url';
import { runConformanceSuite } from '@chaussette/core/testkit';
import { FIXED_LIMIT_VALUES } from './fixed-limits.js';

// The built package, resolved the way `--backend <path>` resolves it.
runConformanceSuite({
  backend: fileURLToPath(new URL('..', import.meta.url)),
  // Built into uWebSockets.js 20, and it closes malformed requests without a 400.
  fixedLimits: FIXED_LIMIT_VALUES,
  answersMalformedRequests: false,
});
