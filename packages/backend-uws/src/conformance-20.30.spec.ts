// The whole kit again on uWebSockets.js 20.30 (@trufflesuite/uws-js-unofficial), the build users of an
// older chaussette have: the backend must stay safe on it, and its known flaws must stay the ones
// SECURITY.md lists. That build has binaries up to Node.js 20 (ABI 115): on a later Node it is skipped.
process.env.CHAUSSETTE_UWS_MODULE = 'uws-20.30';

const { runUwsConformance } = await import('./__fixtures__/uws-conformance.js');
const { KNOWN_FAILURES } = await import('./known-failures.js');

runUwsConformance('the conformance kit on uWebSockets.js 20.30', {
  refusesChunkedRequestBodies: true,
  knownFailures: KNOWN_FAILURES['20.30'],
});
