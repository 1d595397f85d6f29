import { fileURLToPath } from 'node:url';
import { NODE_HTTP_KNOWN_FAILURES } from '@chaussette/node-http';
import { runConformanceSuite } from '@chaussette/testkit';
import { localhostCertificate } from './certificate.js';

const { cert, key, ca } = localhostCertificate();

// By its package name, from this package's directory: the way `--backend https` finds it.
runConformanceSuite({
  backend: 'https',
  searchFrom: [fileURLToPath(new URL('..', import.meta.url))],
  tls: { ca },
  backendOptions: { cert, key },
  knownFailures: [...NODE_HTTP_KNOWN_FAILURES],
});
