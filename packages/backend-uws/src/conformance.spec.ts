import { runUwsConformance } from './__fixtures__/uws-conformance.js';
import { KNOWN_FAILURES } from './known-failures.js';

runUwsConformance('the conformance kit on uWebSockets.js', {
  // uWS's chunk parser lets a malformed body smuggle a request: by default chunked bodies get 411.
  refusesChunkedRequestBodies: true,
  knownFailures: KNOWN_FAILURES['20.57'],
});
