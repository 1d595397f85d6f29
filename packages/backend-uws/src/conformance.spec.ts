import { fileURLToPath } from 'node:url';
import { runConformanceSuite } from '@chaussette/core/testkit';

// The built package, resolved the way `--backend <path>` resolves it.
runConformanceSuite({ backend: fileURLToPath(new URL('..', import.meta.url)) });
