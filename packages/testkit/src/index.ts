// The conformance kit: one vitest suite that every chaussette backend, ours or a third party's, runs
// against itself. Real servers on port 0, real sockets, a real child process on an inherited fd.
// Each concern is one describe, in a file of its own (see README.md for the list).
import { type Backend, resolveBackend } from '@chaussette/core';
import { beforeAll, describe } from 'vitest';
import { describeAccessLog } from './access-log.js';
import { describeBodies } from './bodies.js';
import { type ClientTls, useTls } from './client.js';
import { describeDraining } from './draining.js';
import { describeFetchStandard } from './fetch-standard.js';
import { describeFraming } from './framing.js';
import { describeGracefulClose } from './graceful-close.js';
import { describeHardening, type HardeningOptions } from './hardening.js';
import { describeHttp2 } from './http2.js';
import { describeInheritedSockets } from './inherited-sockets.js';
import type { Kit } from './kit.js';
import { expectFailures } from './known-failures.js';
import { describeListening } from './listening.js';
import { checkCaseNames } from './names.js';
import { describeNodeCompat } from './node-compat.js';
import { describeProxyHeaders } from './proxy-headers.js';
import { describeRequestInput } from './request-input.js';
import { describeServing } from './serving.js';
import { describeStreaming } from './streaming.js';
import { describeTls } from './tls.js';
import { describeWebSockets } from './websocket.js';

export { createFixtureApps, type FixtureApps, HELLO } from './apps.js';
export { type ClientKind, type Load, type LoadOptions, type LoadResult, startLoad } from './load.js';
export { datagramSocketFd, socketFd } from './processes.js';
export { canConnect, clientRequest, type ClientResponse, type ClientTls, keepAliveAgent, openSocket, request, type RequestOptions, useTls } from './client.js';
export { recordingLogger } from './kit.js';
export { type H2Response, h2Request, type H2RequestOptions } from './http2-client.js';
export { type CertificateFiles, makeTestCertificates, sharedTestCertificates, type TestCertificates } from './certificates.js';
export { BASELINE_CASE, NOT_SERVED } from './baseline.js';
export { serverFrames } from './websocket.js';

export interface ConformanceOptions extends HardeningOptions {
  /**
   * For a backend that serves TLS of its own (through backendOptions): the CA that signed its certificate
   * (for `localhost`), so that every concern's clients speak TLS and trust it. A backend that lists
   * supports.tls needs none of this: the TLS concern starts its servers with ServeOptions.tls.
   */
  tls?: ClientTls;
  /** ServeOptions.backendOptions for every server the kit starts (e.g. the certificate's paths). */
  backendOptions?: Record<string, unknown>;
  /**
   * True for an engine that closes the connection of a client that pipelines requests and reads none of
   * the answers, once a few MB wait for it (uWebSockets.js): the kit then checks only the answers sent.
   */
  cutsStalledPipelines?: boolean;
  /**
   * Cases this backend is known to fail, by name: each a flaw of its engine that the backend documents
   * (SECURITY.md). They run as `test.fails`, so that one that starts to pass shows too. A name that is
   * not the name of a case fails the suite.
   */
  knownFailures?: string[];
  /** The backend as `--backend` takes it: a name, a package name, or a path to the package or module. */
  backend: string;
  /** Where to resolve it from (default: the current directory). */
  searchFrom?: string[];
}

export function runConformanceSuite(options: ConformanceOptions): void {
  let backend!: Backend; // resolved in beforeAll, before any case runs
  const kit: Kit = {
    backend: () => backend,
    options,
    searchFrom: options.searchFrom ?? [process.cwd()],
  };
  useTls(options.tls);
  expectFailures(options.knownFailures);

  const suite = describe(`chaussette backend conformance (${options.backend})`, () => {
    beforeAll(async () => {
      checkCaseNames(suite.suite, options.knownFailures);
      backend = await resolveBackend(options.backend, { searchFrom: kit.searchFrom });
    });

    describeServing(kit);
    describeStreaming(kit);
    describeRequestInput(kit);
    describeFetchStandard(kit);
    describeAccessLog(kit);
    describeProxyHeaders(kit);
    describeListening(kit);
    describeInheritedSockets(kit);
    describeHardening(kit.backend, options, options.backendOptions);
    describeFraming(kit.backend, options.backendOptions, options);
    describeNodeCompat(kit.backend, options.backendOptions);
    describeBodies(kit.backend, options.backendOptions, options);
    describeWebSockets(kit.backend, options.backendOptions);
    describeDraining(kit.backend, { backend: options.backend, searchFrom: kit.searchFrom, backendOptions: options.backendOptions });
    describeGracefulClose(kit);
    describeTls(kit);
    describeHttp2(kit);
  });
}
