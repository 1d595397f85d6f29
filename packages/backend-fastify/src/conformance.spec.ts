import { fileURLToPath } from 'node:url';
import { runConformanceSuite } from '@chaussette/testkit';
import { NODE_HTTP_KNOWN_FAILURES } from '@chaussette/node-http';

// The built package, resolved the way `--backend <path>` resolves it.
runConformanceSuite({ backend: fileURLToPath(new URL('..', import.meta.url)), knownFailures: [...NODE_HTTP_KNOWN_FAILURES] });
