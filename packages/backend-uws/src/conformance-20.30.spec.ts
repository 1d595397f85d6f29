// The whole kit again on uWebSockets.js 20.30 (@trufflesuite/uws-js-unofficial), the build users of an
// older chaussette have: the backend must stay safe on it, and its known flaws must stay the ones
// SECURITY.md lists.
process.env.CHAUSSETTE_UWS_MODULE = 'uws-20.30';

const { fileURLToPath } = await import('node:url');
const { runConformanceSuite } = await import('@chaussette/testkit');
const { FIXED_LIMIT_VALUES } = await import('./fixed-limits.js');
const { KNOWN_FAILURES } = await import('./known-failures.js');

runConformanceSuite({
  backend: fileURLToPath(new URL('..', import.meta.url)),
  fixedLimits: FIXED_LIMIT_VALUES,
  cutsStalledPipelines: true,
  knownFailures: KNOWN_FAILURES['20.30'],
});
