import { fileURLToPath } from 'node:url';
import { type ConformanceOptions, runConformanceSuite } from '@chaussette/testkit';
import { test } from 'vitest';
import { fixedLimitValues } from '../fixed-limits.js';
import { uwsUnavailableReason } from '../uws.js';

/**
 * The conformance kit on the built package, resolved the way `--backend <path>` resolves it, on the
 * uWebSockets.js build it loads; skipped, saying why, where that build has no binary.
 */
export function runUwsConformance(title: string, options: Pick<ConformanceOptions, 'backendOptions' | 'refusesChunkedRequestBodies' | 'knownFailures'>): void {
  const unavailable = uwsUnavailableReason();
  if (unavailable) {
    test(title, (context) => context.skip(unavailable));
    return;
  }
  runConformanceSuite({
    backend: fileURLToPath(new URL('../..', import.meta.url)),
    // Built into uWebSockets.js; it closes the connection of a client that pipelines requests without
    // reading once about 4 MB wait.
    fixedLimits: fixedLimitValues(),
    cutsStalledPipelines: true,
    // uWS answers what it cannot parse (400, 431, 505) with HTML of its own, from C++.
    engineWordsParseErrors: true,
    ...options,
  });
}
