import { fileURLToPath } from 'node:url';
import { runConformanceSuite } from '@chaussette/core/testkit';

// The built package, resolved the way `--backend <path>` resolves it.
runConformanceSuite({
  backend: fileURLToPath(new URL('..', import.meta.url)),
  // Built into uWebSockets.js 20 (see FIXED_LIMITS in index.ts), and it closes malformed requests without a 400.
  fixedLimits: { requestHeadersBytes: 4096, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 10_000 },
  answersMalformedRequests: false,
});
