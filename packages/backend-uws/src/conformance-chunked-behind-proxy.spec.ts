import { runUwsConformance } from './__fixtures__/uws-conformance.js';
import { KNOWN_FAILURES } from './known-failures.js';

runUwsConformance('the conformance kit on uWebSockets.js, chunked request bodies taken (--uws-chunked-behind-proxy)', {
  backendOptions: { chunkedBehindProxy: true },
  knownFailures: KNOWN_FAILURES['20.57-chunked-behind-proxy'],
});
