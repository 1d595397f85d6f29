// A framework's production build, made from the framework's own npm packages (examples/frameworks/NAME,
// its `app:build` script: `pnpm build` builds chaussette only), then served by chaussette on every
// backend and checked the way a browser and a form would use it. NAME is the framework for its current
// major, NAME-N for the major before (sveltekit, sveltekit-2). Every example app has the same routes:
//   GET  /            an HTML page that says "chaussette example"
//   GET  /api/hello   JSON { "hello": NAME }, the framework's name without the major
//   POST /form        name=Ada, form-encoded: a body with "Hello, Ada"
//   GET  /static.txt  a static asset of STATIC_BYTES bytes, from the framework's public files
//   GET  /stream      "chunk 1 chunk 2 chunk 3", sent as it is made
//   GET  /cookie      sets visited=yes; with that cookie back, says "visited: yes"
import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { connect as http2Connect } from 'node:http2';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { uwsUnavailableReason } from '@chaussette/backend-uws/engine';
import { makeTestCertificates, type TestCertificates } from '@chaussette/testkit';
import { type CliProcess, startCli } from '../helpers.js';

const run = promisify(execFile);
export const EXAMPLES = fileURLToPath(new URL('../../../../examples/frameworks/', import.meta.url));
// uws only where its uWebSockets.js build has a binary for this Node.js (uwsUnavailableReason() says why not).
export const BACKENDS = (['node', 'fastify', 'uws'] as const).filter((backend) => backend !== 'uws' || !uwsUnavailableReason());
/** The bytes of every example's /static.txt: "static asset\n" repeated. */
export const STATIC_TEXT = 'static asset\n'.repeat(100);
/** The Accept header of a browser's navigation or form submission. */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

export interface BuildCheck {
  /** The directory under examples/frameworks. */
  example: string;
  /** What to hand chaussette, from the example's directory (`build`, `.output`…). */
  args: string[];
  /** What the start-up line must say the app is. */
  recognised: RegExp;
  /** Environment for the build and the server. */
  env?: NodeJS.ProcessEnv;
  /** The answer to POST /form may be a redirect (303) to a page that says it; default: the body says it. */
  formRedirects?: boolean;
}

/** Builds the example once, then runs the same checks on each backend. */
export function describeBuild(check: BuildCheck): void {
  const cwd = `${EXAMPLES}${check.example}`;
  describe(`${check.example}: its production build, served by chaussette`, () => {
    beforeAll(async () => {
      await run('npm', ['run', '--silent', 'app:build'], { cwd, env: { ...process.env, ...check.env }, maxBuffer: 64 * 1024 * 1024 });
    }, 300_000);

    describe.each(SERVED)('on the %s', (_name, backend, overHttp2) => {
      let server: CliProcess;
      let where: string;
      const fetchServed = overHttp2 ? fetchOverHttp2 : fetchOverHttp1;
      // The public URL is https:// there (SvelteKit's ORIGIN; Astro checks a form's Origin against it).
      const scheme = overHttp2 ? 'https' : 'http';
      beforeAll(async () => {
        const tls = overHttp2 ? ['--certfile', certificates().localhost.certFile, '--keyfile', certificates().localhost.keyFile] : [];
        const env = overHttp2 && check.env?.ORIGIN ? { ...check.env, ORIGIN: check.env.ORIGIN.replace(/^http:/, 'https:') } : check.env;
        server = await startCli(['--backend', backend, '--port', '0', ...tls, ...check.args], { cwd, env });
        where = server.addresses[0]!;
      }, 60_000);
      afterAll(async () => {
        if (server) expect(await server.stop()).toBe(0);
      });

      test('says at start-up what it recognised, and serves a page', async () => {
        expect(server.output()).toMatch(check.recognised);
        const page = await fetchServed(where, '/');
        expect(page.status).toBe(200);
        expect(page.headers['content-type']).toMatch(/text\/html/);
        expect(page.body).toContain('chaussette example');
      });

      test('a JSON route', async () => {
        const json = await fetchServed(where, '/api/hello');
        expect(json.status).toBe(200);
        expect(json.headers['content-type']).toMatch(/application\/json/);
        expect(JSON.parse(json.body)).toEqual({ hello: frameworkOf(check.example) });
      });

      test('a form POST', async () => {
        const posted = await fetchServed(where, '/form', {
          method: 'POST',
          // As a browser submits a form: SvelteKit answers a client that does not ask for HTML with JSON.
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: `${scheme}://${where}`, accept: BROWSER_ACCEPT },
          body: 'name=Ada',
        });
        if (check.formRedirects && posted.status === 303) {
          const followed = await fetchServed(where, posted.headers.location as string);
          expect(followed.body).toContain('Hello, Ada');
        } else {
          expect(posted.status).toBe(200);
          expect(posted.body).toContain('Hello, Ada');
        }
      });

      test('a static asset, whole, by Range and by HEAD', async () => {
        const whole = await fetchServed(where, '/static.txt');
        expect(whole.status).toBe(200);
        expect(whole.body).toBe(STATIC_TEXT);
        const part = await fetchServed(where, '/static.txt', { headers: { range: 'bytes=7-12' } });
        // A server may ignore Range (RFC 9110 §14.2); one that honours it sends exactly those bytes.
        if (part.status === 206) {
          expect(part.body).toBe(STATIC_TEXT.slice(7, 13));
          expect(part.headers['content-range']).toBe(`bytes 7-12/${STATIC_TEXT.length}`);
        } else {
          expect(part.status).toBe(200);
          expect(part.body).toBe(STATIC_TEXT);
        }
        const head = await fetchServed(where, '/static.txt', { method: 'HEAD' });
        expect(head.status).toBe(200);
        expect(head.body).toBe('');
        if (head.headers['content-length'] !== undefined) expect(head.headers['content-length']).toBe(String(STATIC_TEXT.length));
      });

      test('a streamed response arrives in pieces, as it is made', async () => {
        const streamed = await fetchServed(where, '/stream');
        expect(streamed.status).toBe(200);
        expect(streamed.body.replace(/\s+/g, ' ').trim()).toContain('chunk 1 chunk 2 chunk 3');
        expect(streamed.chunks).toBeGreaterThan(1);
      });

      test('cookies, set and sent back', async () => {
        const first = await fetchServed(where, '/cookie');
        const setCookie = ([] as string[]).concat(first.headers['set-cookie'] ?? []);
        expect(setCookie.some((cookie) => cookie.startsWith('visited=yes'))).toBe(true);
        const again = await fetchServed(where, '/cookie', { headers: { cookie: 'visited=yes' } });
        expect(again.body).toContain('visited: yes');
      });
    });
  });
}

/** `sveltekit` for the examples sveltekit and sveltekit-2. */
export function frameworkOf(example: string): string {
  return example.replace(/-\d+$/, '');
}

interface Fetched {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** How many reads the body came in: more than one for a response sent as it is made. */
  chunks: number;
}

/** Where each build is served: every backend, and the node backend over TLS with HTTP/2 (a browser's protocol by ALPN). */
const SERVED = [...BACKENDS.map((backend) => [`${backend} backend`, backend, false] as const), ['node backend over TLS, with HTTP/2', 'node', true] as const];

let testCertificates: TestCertificates | undefined;
const certificates = () => (testCertificates ??= makeTestCertificates());

export const fetchFrom = fetchOverHttp1;

/** One request on a fresh connection, as a browser's first would be; `where` is `host:port`. */
function fetchOverHttp1(where: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Fetched> {
  const [host, port] = [where.slice(0, where.lastIndexOf(':')).replace(/^\[|\]$/g, ''), Number(where.slice(where.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host, port, path, method: init.method ?? 'GET', headers: init.headers, agent: false }, (res) => {
      let body = '';
      let chunks = 0;
      res.on('data', (chunk: Buffer) => {
        chunks++;
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, chunks }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** One request over HTTP/2 and TLS on a fresh session (ALPN h2), trusting the test CA; `where` is `host:port`. */
async function fetchOverHttp2(where: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Fetched> {
  const session = http2Connect(`https://${where}`, { ca: certificates().ca.cert }); // the certificate names 127.0.0.1 too
  session.on('error', () => {});
  try {
    return await new Promise<Fetched>((resolve, reject) => {
      const stream = session.request({ ':method': init.method ?? 'GET', ':path': path, ...init.headers }, { endStream: init.body === undefined });
      let head: Record<string, string | string[] | undefined> = {};
      let body = '';
      let chunks = 0;
      stream.on('response', (headers) => (head = headers as typeof head));
      stream.on('data', (chunk: Buffer) => {
        chunks++;
        body += chunk.toString();
      });
      stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body, chunks }));
      stream.on('error', reject);
      if (init.body !== undefined) stream.end(init.body);
    });
  } finally {
    session.close();
  }
}
