import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_HTTP_KNOWN_FAILURES } from '@chaussette/node-http';
import { makeTestCertificates, runConformanceSuite } from '@chaussette/testkit';

// The kit's clients speak HTTPS with `localhost` as the SNI name: every handshake goes through the
// directory (no defaultName), to localhost's certificate there.
const { directory, ca, localhost } = makeTestCertificates();
const live = join(directory, 'live');
mkdirSync(join(live, 'localhost'), { recursive: true });
writeFileSync(join(live, 'localhost', 'fullchain.pem'), localhost.cert);
writeFileSync(join(live, 'localhost', 'privkey.pem'), localhost.key);

// By its package name, from this package's directory: the way `--backend on-demand-tls` finds it. The
// kit's TLS and HTTP/2 concerns are skipped: they start servers with ServeOptions.tls (--certfile),
// which this backend does not take (it lists no supports.tls), its TLS being its own.
runConformanceSuite({
  backend: 'on-demand-tls',
  searchFrom: [fileURLToPath(new URL('..', import.meta.url))],
  tls: { ca: ca.cert },
  backendOptions: { directory: live },
  knownFailures: [...NODE_HTTP_KNOWN_FAILURES],
});
