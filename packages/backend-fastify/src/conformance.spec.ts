import { fileURLToPath } from 'node:url';
import { runConformanceSuite } from '@chaussette/core/testkit';
import { NODE_HTTP_KNOWN_FAILURES } from '@chaussette/backend-node/bridge';

// The built package, resolved the way `--backend <path>` resolves it.
runConformanceSuite({ backend: fileURLToPath(new URL('..', import.meta.url)), knownFailures: [...NODE_HTTP_KNOWN_FAILURES] });
