// The whole suite against a backend that keeps none of TLS's and HTTP/2's promises (lax-backend.mjs), for tls-http2.spec.ts.
import { fileURLToPath } from 'node:url';
import { runConformanceSuite } from '../index.js';

runConformanceSuite({ backend: fileURLToPath(new URL('./lax-backend.mjs', import.meta.url)) });
