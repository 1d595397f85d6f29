import { fileURLToPath } from 'node:url';
import { runConformanceSuite } from '@chaussette/testkit';
import { test } from 'vitest';
import { fixedLimitValues } from './fixed-limits.js';
import { KNOWN_FAILURES } from './known-failures.js';
import { uwsUnavailableReason } from './uws.js';

const unavailable = uwsUnavailableReason();
if (unavailable) {
  test('the conformance kit on uWebSockets.js', (context) => context.skip(unavailable));
} else {
  // The built package, resolved the way `--backend <path>` resolves it, on the engine it depends on.
  runConformanceSuite({
    backend: fileURLToPath(new URL('..', import.meta.url)),
    // Built into uWebSockets.js; it closes the connection of a client that pipelines requests without
    // reading once about 4 MB wait.
    fixedLimits: fixedLimitValues(),
    cutsStalledPipelines: true,
    // uWS answers what it cannot parse (400, 431, 505) with HTML of its own, from C++.
    engineWordsParseErrors: true,
    // uWS's chunk parser lets a malformed body smuggle a request: by default chunked bodies get 411.
    refusesChunkedRequestBodies: true,
    knownFailures: KNOWN_FAILURES['20.57'],
  });
}
