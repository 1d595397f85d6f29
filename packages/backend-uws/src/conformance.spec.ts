import { fileURLToPath } from 'node:url';
import { runConformanceSuite } from '@chaussette/core/testkit';
import { FIXED_LIMIT_VALUES } from './fixed-limits.js';

// The built package, resolved the way `--backend <path>` resolves it.
runConformanceSuite({
  backend: fileURLToPath(new URL('..', import.meta.url)),
  // Built into uWebSockets.js 20; it closes malformed requests without a 400, and the connection of a
  // client that pipelines requests without reading once about 4 MB wait.
  fixedLimits: FIXED_LIMIT_VALUES,
  answersMalformedRequests: false,
  cutsStalledPipelines: true,
});
