import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { uwsUnavailableReason } from '@chaussette/backend-uws/engine';
import { type CliProcess, killAll, skipUnlessServable, startCli } from './helpers.js';

/**
 * Real apps of the fetch frameworks, served by chaussette's CLI on each backend and by the framework's
 * own Node adapter (fixtures/fetch-frameworks/serve-with-adapter.mjs): the same raw requests to both,
 * and what a client sees compared (status, headers but framing and dates, body).
 */

const BACKENDS = ['node', 'fastify', 'uws'] as const;
type Backend = (typeof BACKENDS)[number];

interface Framework {
  name: string;
  /** The application argument chaussette is given, from test/fixtures. */
  spec: string;
  /** What chaussette says it recognised, from the export's shape. */
  recognisedAs: string;
  adapter: string;
}

const FRAMEWORKS: Framework[] = [
  { name: 'hono', spec: 'fetch-frameworks/hono.mjs', recognisedAs: 'a Hono app (fetch handler)', adapter: '@hono/node-server' },
  { name: 'h3', spec: 'fetch-frameworks/h3.mjs', recognisedAs: 'an H3 instance (fetch handler)', adapter: 'srvx, by h3 serve()' },
  { name: 'itty-router', spec: 'fetch-frameworks/itty.mjs', recognisedAs: 'an object with fetch() (fetch handler)', adapter: 'srvx' },
  { name: 'elysia', spec: 'fetch-frameworks/elysia.mjs', recognisedAs: 'an Elysia instance (fetch handler)', adapter: '@elysiajs/node' },
  { name: 'srvx-style', spec: 'fetch-frameworks/srvx-style.mjs', recognisedAs: 'an object with fetch() (fetch handler)', adapter: 'srvx' },
];

const SERVE_WITH_ADAPTER = fileURLToPath(new URL('./fixtures/fetch-frameworks/serve-with-adapter.mjs', import.meta.url));

/** The framework's own adapter in a process of its own (adapters replace globals), once it listens. */
async function startAdapter(framework: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [SERVE_WITH_ADAPTER, framework], { stdio: ['ignore', 'pipe', 'inherit'] });
  let printed = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
      const listening = /listening on (\d+)/.exec(printed);
      if (listening) resolve(Number(listening[1]));
    });
    child.once('exit', (code) => reject(new Error(`${framework}'s adapter exited with ${code} before listening`)));
  });
  return { child, port };
}

// ---------------------------------------------------------------------------------------------------
// The requests, as bytes

const HOST = 'example.test';
const MEBIBYTE = 1 << 20;
const MULTIPART_BOUNDARY = 'chaussette-boundary';
const MULTIPART_BODY = [
  `--${MULTIPART_BOUNDARY}`,
  'Content-Disposition: form-data; name="title"',
  '',
  'two words',
  `--${MULTIPART_BOUNDARY}`,
  'Content-Disposition: form-data; name="upload"; filename="notes.txt"',
  'Content-Type: text/plain',
  '',
  'file contents\nline two',
  `--${MULTIPART_BOUNDARY}--`,
  '',
].join('\r\n');

interface RawRequest {
  name: string;
  bytes: Buffer;
}

function raw(name: string, headers: Record<string, string> = {}, body?: string | Buffer): RawRequest {
  const [method, target] = name.split(' ');
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${headers.Host ?? HOST}`];
  for (const [field, value] of Object.entries(headers)) if (field !== 'Host') lines.push(`${field}: ${value}`);
  if (body !== undefined && !headers['Transfer-Encoding']) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  lines.push('Connection: close', '', '');
  return { name: name + (headers.Host ? ` (Host: ${headers.Host})` : ''), bytes: Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), Buffer.from(body ?? '')]) };
}

const JSON_TYPE = { 'Content-Type': 'application/json' };
const REQUESTS: RawRequest[] = [
  raw('GET /text'),
  raw('HEAD /text'),
  raw('GET /plain'),
  raw('GET /users/42?q=a%20b'),
  raw('POST /json', JSON_TYPE, '{"a":[1,"é"]}'),
  raw('OPTIONS /json', { Origin: 'http://elsewhere.test', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' }),
  raw('GET /headers', { 'X-In': 'in' }),
  raw('POST /created', JSON_TYPE, '{}'),
  raw('DELETE /items/7'),
  raw('GET /etag'),
  { ...raw('GET /etag', { 'If-None-Match': '"v1"' }), name: 'GET /etag (If-None-Match)' },
  raw('GET /missing'),
  raw('GET /boom'),
  raw('POST /boom', JSON_TYPE, '{not json'),
  raw('GET /redirect'),
  raw('GET /stream'),
  raw('POST /text', { 'Content-Type': 'text/plain; charset=utf-8' }, 'héllo'),
  { ...raw('POST /text', { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' }, '3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n'), name: 'POST /text (chunked)' },
  { ...raw('POST /form', { 'Content-Type': 'application/x-www-form-urlencoded' }, 'a=1&b=two+words&a=%C3%A9'), name: 'POST /form (urlencoded)' },
  { ...raw('POST /form', { 'Content-Type': `multipart/form-data; boundary=${MULTIPART_BOUNDARY}` }, MULTIPART_BODY), name: 'POST /form (multipart)' },
  raw('GET /url?x=1'),
  raw('GET /path/../url'),
  raw('GET /path/%2e%2e/url'),
  raw('GET /path/%2E./url'),
  raw('GET /url', { Host: 'EXAMPLE.com:80' }),
  raw('GET /big'),
  raw('POST /big', { 'Content-Type': 'application/octet-stream' }, Buffer.alloc(MEBIBYTE, 'y')),
];

// ---------------------------------------------------------------------------------------------------
// Sending them, and reading what comes back

interface Seen {
  status: number;
  reason: string;
  headers: [string, string][];
  body: Buffer;
}
type Outcome = Seen | { failure: string };

const ANSWER_WITHIN_MS = 3000;

/** One request on its own connection (`Connection: close`): everything the server sends until it closes it. */
function exchange(port: number, request: RawRequest): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ failure: `no answer within ${ANSWER_WITHIN_MS} ms (${Buffer.concat(chunks).length} bytes received)` });
    }, ANSWER_WITHIN_MS);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      resolve({ failure: `socket error ${(error as NodeJS.ErrnoException).code ?? error.message}` });
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(parseResponse(Buffer.concat(chunks), request.name.startsWith('HEAD ')));
    });
    // Written, not ended: a client that half-closes is one few servers see.
    socket.write(request.bytes);
  });
}

function parseResponse(bytes: Buffer, isHead: boolean): Outcome {
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (headEnd < 0) return { failure: bytes.length === 0 ? 'connection closed with no response' : `incomplete head: ${JSON.stringify(bytes.toString('latin1'))}` };
  const [statusLine = '', ...fieldLines] = bytes.subarray(0, headEnd).toString('latin1').split('\r\n');
  const [, status = '0', reason = ''] = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine) ?? [];
  const headers = fieldLines.map((line): [string, string] => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]);
  const payload = bytes.subarray(headEnd + 4);
  const chunked = headers.some(([name, value]) => name === 'transfer-encoding' && /chunked/i.test(value));
  return { status: Number(status), reason, headers, body: chunked && !isHead ? decodeChunked(payload) : payload };
}

function decodeChunked(payload: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < payload.length; ) {
    const lineEnd = payload.indexOf('\r\n', offset);
    const size = Number.parseInt(payload.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(payload.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

async function exchangeAll(port: number): Promise<Map<string, Outcome>> {
  const outcomes = await Promise.all(REQUESTS.map((request) => exchange(port, request)));
  return new Map(REQUESTS.map((request, index) => [request.name, outcomes[index]!]));
}

// ---------------------------------------------------------------------------------------------------
// Comparing

/**
 * The server's, not the app's: per connection, per clock, or its signature (uWebSockets.js writes
 * `uWebSockets: 20` on every reply, as node:http writes Date). How a body is framed may differ too,
 * chunked or with a length; the rest may not.
 */
const NOT_COMPARED = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'uwebsockets']);

function showBody(body: Buffer): string {
  if (body.length <= 120) return JSON.stringify(body.toString('utf8'));
  return `${body.length} bytes, sha256 ${createHash('sha256').update(body).digest('hex').slice(0, 12)}`;
}

function headerValues(seen: Seen): Map<string, string> {
  const values = new Map<string, string>();
  for (const [name, value] of seen.headers) {
    if (NOT_COMPARED.has(name)) continue;
    values.set(name, values.has(name) ? `${values.get(name)} | ${value}` : value);
  }
  return values;
}

/** Each way chaussette's reply differs from the adapter's, as `what: chaussette's ≠ the adapter's`. */
function differences(served: Outcome, reference: Outcome): string[] {
  if ('failure' in served || 'failure' in reference) {
    const describe = (outcome: Outcome) => ('failure' in outcome ? outcome.failure : `status ${outcome.status}`);
    return describe(served) === describe(reference) ? [] : [`reply: ${describe(served)} ≠ ${describe(reference)}`];
  }
  const found: string[] = [];
  if (served.status !== reference.status) found.push(`status: ${served.status} ≠ ${reference.status}`);
  // RFC 9112 4: a client ignores the reason phrase; srvx sends none where the app set no statusText.
  if (served.reason && reference.reason && served.reason !== reference.reason) found.push(`reason phrase: ${served.reason} ≠ ${reference.reason}`);
  const ours = headerValues(served);
  const theirs = headerValues(reference);
  for (const name of [...new Set([...ours.keys(), ...theirs.keys()])].sort()) {
    // Only when both send one: a length on one side and chunks on the other is framing.
    if (name === 'content-length' && !(ours.has(name) && theirs.has(name))) continue;
    if (ours.get(name) !== theirs.get(name)) found.push(`${name}: ${ours.get(name) ?? '(none)'} ≠ ${theirs.get(name) ?? '(none)'}`);
  }
  if (!served.body.equals(reference.body)) found.push(`body: ${showBody(served.body)} ≠ ${showBody(reference.body)}`);
  return found;
}

// ---------------------------------------------------------------------------------------------------
// What differs today, each for a reason named here. A change in either direction fails its case.

const HOST_AS_NEW_URL =
  'request.url is what new URL() makes of the target and Host: the host lowercased, the default port dropped, as @hono/node-server, Bun and Deno make it; srvx keeps the Host as sent';
const CONTENT_TYPE_SPELLING =
  "srvx's FastResponse (h3 answers strings with it, @elysiajs/node all) spells the default `text/plain; charset=UTF-8` when srvx's sender writes it; a FastResponse read as a Response, as chaussette reads it, is a standard one, whose default is `text/plain;charset=UTF-8` (undici, Bun, Deno)";
const ELYSIA_NULL_BODY_STATUS =
  "Elysia's web-standard adapter answers `set.status = 204` or 304 with new Response('', …), which a standard Response refuses (Node's own too; Bun's accepts it); @elysiajs/node's FastResponse does not check";
const ERROR_PAGE = "a throw the app does not catch: chaussette's 500 says `Internal Server Error` in text/plain, srvx's is empty";

/** Requests a backend refuses by default, whatever the app: their status is checked, not compared. */
const REFUSED_BY_DEFAULT = [
  {
    backend: 'uws',
    request: 'POST /text (chunked)',
    status: 411,
    cause: "uWS's chunk parser lets a malformed body smuggle a request: chunked bodies get 411 unless --uws-chunked-behind-proxy (SECURITY.md)",
  },
] as const;

interface KnownDifference {
  cause: string;
  framework: string;
  backends: readonly Backend[];
  /** Request name: what differs, as differences() says it. */
  requests: Record<string, string[]>;
}

const SRVX_DEFAULT_TYPE = 'content-type: text/plain;charset=UTF-8 ≠ text/plain; charset=UTF-8';

const KNOWN_DIFFERENCES: KnownDifference[] = [
  {
    cause: CONTENT_TYPE_SPELLING,
    framework: 'h3',
    backends: BACKENDS,
    requests: Object.fromEntries(
      ['GET /text', 'GET /etag', 'POST /text', 'POST /text (chunked)', 'GET /url?x=1', 'GET /path/../url', 'GET /path/%2e%2e/url', 'GET /path/%2E./url', 'GET /url (Host: EXAMPLE.com:80)', 'GET /big'].map(
        (request) => [request, [SRVX_DEFAULT_TYPE]],
      ),
    ),
  },
  {
    cause: HOST_AS_NEW_URL,
    framework: 'h3',
    backends: BACKENDS,
    requests: {
      'GET /url (Host: EXAMPLE.com:80)': ['body: "url http://example.com/url" ≠ "url http://EXAMPLE.com:80/url"'],
    },
  },
  {
    cause: HOST_AS_NEW_URL,
    framework: 'itty-router',
    backends: BACKENDS,
    requests: {
      'GET /url (Host: EXAMPLE.com:80)': ['body: "\\"url http://example.com/url\\"" ≠ "\\"url http://EXAMPLE.com:80/url\\""'],
    },
  },
  {
    cause: CONTENT_TYPE_SPELLING,
    framework: 'elysia',
    backends: BACKENDS,
    requests: {
      'GET /headers': [SRVX_DEFAULT_TYPE],
    },
  },
  {
    cause: ELYSIA_NULL_BODY_STATUS,
    framework: 'elysia',
    backends: BACKENDS,
    requests: {
      'DELETE /items/7': ['status: 500 ≠ 204', 'reason phrase: Internal Server Error ≠ No Content', 'content-type: text/plain ≠ (none)', 'body: "Response constructor: Invalid response status code 204" ≠ ""'],
      'GET /etag (If-None-Match)': ['status: 500 ≠ 304', 'reason phrase: Internal Server Error ≠ Not Modified', 'access-control-allow-headers: (none) ≠ content-type', 'access-control-allow-origin: (none) ≠ *', 'content-type: text/plain; charset=utf-8 ≠ (none)', 'body: "Internal Server Error\\n" ≠ ""'],
    },
  },
  {
    cause: HOST_AS_NEW_URL,
    framework: 'elysia',
    backends: BACKENDS,
    requests: {
      'GET /url (Host: EXAMPLE.com:80)': ['content-length: 26 ≠ 29', 'body: "url http://example.com/url" ≠ "url http://EXAMPLE.com:80/url"'],
    },
  },
  {
    cause: ERROR_PAGE,
    framework: 'srvx-style',
    backends: BACKENDS,
    requests: {
      'GET /boom': ['content-length: 22 ≠ 0', 'content-type: text/plain; charset=utf-8 ≠ (none)', 'body: "Internal Server Error\\n" ≠ ""'],
      'POST /boom': ['content-length: 22 ≠ 0', 'content-type: text/plain; charset=utf-8 ≠ (none)', 'body: "Internal Server Error\\n" ≠ ""'],
    },
  },
  {
    cause: HOST_AS_NEW_URL,
    framework: 'srvx-style',
    backends: BACKENDS,
    requests: {
      'GET /url (Host: EXAMPLE.com:80)': ['body: "url http://example.com/url" ≠ "url http://EXAMPLE.com:80/url"'],
    },
  },
];

function knownDifferences(framework: string, backend: Backend, request: string): { differences: string[]; causes: string[] } {
  const known = KNOWN_DIFFERENCES.filter((entry) => entry.framework === framework && entry.backends.includes(backend) && entry.requests[request]);
  return { differences: known.flatMap((entry) => entry.requests[request]!).sort(), causes: known.map((entry) => entry.cause) };
}

afterAll(killAll);

test('the known differences name only frameworks and requests this file has', () => {
  const requestNames = REQUESTS.map((request) => request.name);
  expect(new Set(requestNames).size).toBe(requestNames.length);
  for (const { request } of REFUSED_BY_DEFAULT) expect(requestNames).toContain(request);
  for (const known of KNOWN_DIFFERENCES) {
    expect(FRAMEWORKS.map((framework) => framework.name)).toContain(known.framework);
    for (const request of Object.keys(known.requests)) expect(requestNames).toContain(request);
  }
});

describe.each(FRAMEWORKS)('$name, against $adapter', (framework) => {
  let reference: Map<string, Outcome>;

  beforeAll(async () => {
    const adapter = await startAdapter(framework.name);
    try {
      reference = await exchangeAll(adapter.port);
    } finally {
      adapter.child.kill();
    }
  });

  describe.each(BACKENDS)('served by chaussette --backend %s', (backend) => {
    let cli: CliProcess | undefined;
    let served: Map<string, Outcome>;

    beforeAll(async () => {
      // skipUnlessServable skips each case below, saying why.
      if (backend === 'uws' && uwsUnavailableReason()) return;
      cli = await startCli([framework.spec, '--backend', backend, '--port', '0']);
      served = await exchangeAll(Number(cli.addresses[0]!.split(':').pop()));
      await cli.stop();
    });
    beforeEach((context) => skipUnlessServable(backend, context));

    test(`is recognised by its shape`, () => {
      expect(cli!.output()).toContain(`Application is ${framework.recognisedAs}`);
    });

    test.each(REQUESTS.map((request) => request.name))('%s', (request) => {
      const refused = REFUSED_BY_DEFAULT.find((entry) => entry.backend === backend && entry.request === request);
      if (refused) return void expect(served.get(request), refused.cause).toMatchObject({ status: refused.status });
      const known = knownDifferences(framework.name, backend, request);
      const actual = differences(served.get(request)!, reference.get(request)!).sort();
      // The actual list in full, ready to paste into KNOWN_DIFFERENCES when a change is meant.
      const message = `${known.causes.length > 0 ? `known: ${known.causes.join('; ')}` : 'no difference known'}; actual: ${JSON.stringify(actual)}`;
      expect(actual, message).toEqual(known.differences);
    });
  });
});
