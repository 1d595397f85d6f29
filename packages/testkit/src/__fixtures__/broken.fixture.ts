// The whole suite against a backend that cannot speak HTTP (broken-backend.mjs), for baseline.spec.ts.
import { fileURLToPath } from 'node:url';
import { runConformanceSuite } from '../index.js';

runConformanceSuite({ backend: fileURLToPath(new URL('./broken-backend.mjs', import.meta.url)) });
