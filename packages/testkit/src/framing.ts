// The conformance kit's HTTP/1.1 framing cases, written from RFC 9112 §2-§7 and §9 (and RFC 9110):
// raw bytes on one connection, each case what the RFCs and SECURITY.md promise whatever the engine.
// Where a message ends decides where the next begins: a server that reads one differently from a proxy
// in front of it answers requests the proxy never saw (request smuggling). So every refused request has
// a request pipelined behind it, in the same write, that must never be answered or reach the app.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, type AppKind, type Backend, type BoundAddress, type ListenTarget, type RunningServer, startServer } from '@chaussette/core';
import { createFixtureApps } from './apps.js';
import { getServed, servedBaseline } from './baseline.js';
import { openSocket } from './client.js';
import type { HardeningOptions } from './hardening.js';
import { kitTest } from './known-failures.js';

const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** What the app was handed: its method, target (path and query) and host. */
interface Seen {
  method: string;
  path: string;
  authority: string;
}

/** The fixture app, telling `seen` each request it is handed before it runs. */
function watched(app: App, seen: Seen[]): App {
  if (app.kind === 'node') {
    const { listener } = app;
    const seenOf = (req: IncomingMessage): Seen => {
      const url = new URL(req.url ?? '', `http://${req.headers.host ?? 'no-host'}`);
      return { method: req.method ?? '', path: url.pathname + url.search, authority: url.host };
    };
    return { ...app, listener: (req, res) => (seen.push(seenOf(req)), listener(req, res)) };
  }
  const { fetch } = app;
  return {
    ...app,
    fetch: (request, server) => {
      const url = new URL(request.url);
      seen.push({ method: request.method, path: url.pathname + url.search, authority: url.host });
      return fetch(request, server);
    },
  };
}

interface RawResponse {
  status: number;
  head: string;
  body: Buffer;
  /** Offsets in the bytes received: where the response starts, where its body starts, where it ends. */
  start: number;
  bodyStart: number;
}

interface Exchange {
  bytes: Buffer;
  /** The server ended the connection (FIN or reset) within the wait. */
  closed: boolean;
  responses: RawResponse[];
  /** What follows the last complete response: none on a server that frames its answers right. */
  rest: Buffer;
  /** Every status line in the bytes, wherever it is: a response hidden in another's body counts too. */
  statusLines: string[];
}

/**
 * Writes `wire` (bytes as latin1) in one write and collects what the server sends until it closes the
 * connection or says nothing for `quietMs`. `methods` names the request of each response (HEAD's has
 * no body).
 */
async function exchange(address: BoundAddress, wire: string, { methods = [] as string[], quietMs = 300, maxMs = 3000 } = {}): Promise<Exchange> {
  const socket = await openSocket(address);
  const chunks: Buffer[] = [];
  let closed = false;
  await new Promise<void>((resolve) => {
    let quiet: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(quiet);
      clearTimeout(cap);
      resolve();
    };
    const rearm = () => {
      clearTimeout(quiet);
      quiet = setTimeout(done, quietMs);
    };
    const cap = setTimeout(done, maxMs);
    const ended = () => {
      closed = true;
      done();
    };
    socket.on('data', (chunk: Buffer) => (chunks.push(chunk), rearm()));
    socket.on('error', () => {}); // a reset is a close
    socket.once('end', ended).once('close', ended);
    rearm();
    socket.write(Buffer.from(wire, 'latin1'));
  });
  socket.destroy();
  const bytes = Buffer.concat(chunks);
  return { bytes, closed, ...parseResponses(bytes, methods), statusLines: bytes.toString('latin1').match(/HTTP\/\d\.\d \d{3}[^\r\n]*/g) ?? [] };
}

/** The complete responses `bytes` begins with, framed as RFC 9112 §6.3 says a client frames them. */
function parseResponses(bytes: Buffer, methods: string[]): { responses: RawResponse[]; rest: Buffer } {
  const responses: RawResponse[] = [];
  let at = 0;
  while (at < bytes.length) {
    const headEnd = bytes.indexOf('\r\n\r\n', at);
    if (headEnd === -1) break;
    const head = bytes.subarray(at, headEnd).toString('latin1');
    const status = Number(/^HTTP\/1\.[01] (\d{3})(?: |\r|$)/.exec(head)?.[1] ?? NaN);
    if (Number.isNaN(status)) break;
    const bodyStart = headEnd + 4;
    if (status < 200) {
      at = bodyStart; // an interim response: the final one follows
      continue;
    }
    const field = (name: string) =>
      head
        .split('\r\n')
        .slice(1)
        .filter((line) => line.toLowerCase().startsWith(`${name}:`))
        .map((line) => line.slice(name.length + 1).trim());
    let end: number | undefined;
    let body: Buffer;
    if (methods[responses.length] === 'HEAD' || status === 204 || status === 304) {
      end = bodyStart;
      body = Buffer.alloc(0);
    } else if (field('transfer-encoding').join(',').toLowerCase().includes('chunked')) {
      const chunked = dechunk(bytes, bodyStart);
      if (!chunked) break;
      ({ end, body } = chunked);
    } else if (field('content-length').length > 0) {
      end = bodyStart + Number(field('content-length')[0]);
      if (!(end <= bytes.length)) break;
      body = bytes.subarray(bodyStart, end);
    } else {
      end = bytes.length; // delimited by the close
      body = bytes.subarray(bodyStart);
    }
    responses.push({ status, head, body, start: at, bodyStart });
    at = end;
  }
  return { responses, rest: bytes.subarray(at) };
}

function dechunk(bytes: Buffer, from: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  for (let at = from; ; ) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd === -1) return undefined;
    const size = parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) return undefined;
    if (size === 0) {
      const end = bytes.indexOf('\r\n\r\n', lineEnd);
      return end === -1 ? undefined : { body: Buffer.concat(parts), end: end + 4 };
    }
    if (lineEnd + 2 + size + 2 > bytes.length) return undefined;
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

/** One line saying what happened, for the failure messages. */
function story(result: Exchange, seen: Seen[]): string {
  const answered = result.statusLines.length ? `answered ${result.statusLines.map((line) => `"${line}"`).join(', ')}` : 'answered nothing';
  const app = seen.length ? `the app saw ${seen.map(({ method, path }) => `${method} ${path}`).join(', ')}` : 'the app saw nothing';
  return `${answered}, ${result.closed ? 'then closed' : 'and left the connection open'}; ${app}`;
}

/** A status a refusal may have: a number, or any of a class ('4xx'). */
type Refusal = number | '4xx';
const allows = (refusals: readonly Refusal[], status: number) => refusals.some((refusal) => (refusal === '4xx' ? status >= 400 && status < 500 : refusal === status));

/**
 * Refused: a refusal (or no answer at all) and the connection closed; nothing behind the request is
 * answered, and the app never sees it. With `headReachesApp` (the head is fine, the body is not), the
 * app may be handed the request before its body fails, but nothing else, and its answer never goes out.
 */
function expectRefused(result: Exchange, seen: Seen[], { refusals = ['4xx'] as readonly Refusal[], headReachesApp = false, path = '/digest' } = {}): void {
  const what = story(result, seen);
  expect(result.statusLines.length, `more than one answer (a request was read from the refused one's bytes): ${what}`).toBeLessThanOrEqual(1);
  if (result.statusLines.length === 1) {
    const status = Number(/ (\d{3})/.exec(result.statusLines[0]!)![1]);
    expect(allows(refusals, status), `not a refusal (${refusals.join(' or ')}): ${what}`).toBe(true);
  }
  const handed = headReachesApp ? seen.filter((request) => request.path !== path) : seen;
  expect(handed, `the app was handed a refused request: ${what}`).toEqual([]);
  expect(result.closed, `the connection stayed open after the refusal: ${what}`).toBe(true);
}

/** What the app must be handed, and what it answers (a string, a pattern, or a JSON value). */
interface Want {
  method: string;
  path: string;
  answer?: string | RegExp | Record<string, unknown>;
  authority?: string;
}

/** Accepted: each request handed to the app as sent, answered 200 in order, and nothing else sent. */
function expectAccepted(result: Exchange, seen: Seen[], wants: Want[]): void {
  const what = story(result, seen);
  expect(seen.map(({ method, path }) => `${method} ${path}`), `the app was not handed the requests as sent: ${what}`).toEqual(
    wants.map(({ method, path }) => `${method} ${path}`),
  );
  expect(result.responses.map(({ status }) => status), `not one 200 per request: ${what}`).toEqual(wants.map(() => 200));
  for (const [index, { answer, authority }] of wants.entries()) {
    const body = result.responses[index]!.body.toString('latin1');
    if (typeof answer === 'string') expect(body, `answer ${index + 1}`).toBe(answer);
    else if (answer instanceof RegExp) expect(body, `answer ${index + 1}`).toMatch(answer);
    else if (answer) expect(JSON.parse(body), `answer ${index + 1}`).toEqual(answer);
    if (authority !== undefined) expect(seen[index]!.authority, `the host of request ${index + 1}`).toBe(authority);
  }
  expect(result.rest.toString('latin1'), `bytes after the last response: ${what}`).toBe('');
}

/** Either outcome the RFC allows, told apart by the first answer: a success means accepted. */
function expectAcceptedOrRefused(result: Exchange, seen: Seen[], wants: Want[], refusals: readonly Refusal[] = ['4xx']): void {
  if (result.responses[0] && result.responses[0].status < 300) expectAccepted(result, seen, wants);
  else expectRefused(result, seen, { refusals });
}

const sha256 = (text: string) => createHash('sha256').update(text, 'latin1').digest('hex');
/** The fixture's /digest answer for a body. */
const digestOf = (body: string) => ({ bytes: Buffer.byteLength(body, 'latin1'), sha256: sha256(body) });

/** Pipelined behind a refused request: 31 bytes, so that it is also the body `Content-Length: 31` would read. */
const EVIL = 'GET /evil HTTP/1.1\r\nHost: a\r\n\r\n';
/** Pipelined behind an accepted request: answered on its own, then the server closes. */
const NEXT = 'GET /url?next HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n';
const NEXT_WANT: Want = { method: 'GET', path: '/url?next', answer: 'GET /url?next' };

/** A POST to the fixture's /digest with these header lines (each ending in CRLF) and body bytes. */
const post = (fields: string, body = '') => `POST /digest HTTP/1.1\r\nHost: a\r\n${fields}\r\n${body}`;
const chunked = (body: string) => post('Transfer-Encoding: chunked\r\n', body);
const HELLO_CHUNKED = '5\r\nhello\r\n0\r\n\r\n';
const digested = (body: string): Want => ({ method: 'POST', path: '/digest', answer: digestOf(body) });
const echoed = (target: string): Want => ({ method: 'GET', path: target, answer: `GET ${target}` });
const multiIn = (value: string | RegExp): Want => ({
  method: 'GET',
  path: '/headers',
  answer: typeof value === 'string' ? { 'x-multi-in': value } : value,
});

interface RefusedCase {
  name: string;
  wire: string;
  refusals?: Refusal[];
}
interface AcceptedCase {
  name: string;
  wire: string;
  want: Want;
}
interface EitherCase extends AcceptedCase {
  refusals?: Refusal[];
}

const UNKNOWN_CODING: Refusal[] = ['4xx', 501];

/** What the framing cases of one app kind share: the server's address, what its app was handed, and the case makers. */
interface FramingCases {
  /** The server of this app kind (started in beforeAll). */
  address(): BoundAddress;
  seen: Seen[];
  /** One case per entry: the request must be refused, and the one pipelined behind it never read. */
  refused(cases: RefusedCase[], options?: { headReachesApp?: boolean }): void;
  /** One case per entry: the request must be answered as `want`, then the next one too. */
  accepted(cases: AcceptedCase[]): void;
  /** accepted(), for requests with a chunked body: on a backend that refuses those, each must get 411 and the close. */
  acceptedChunked(cases: AcceptedCase[]): void;
  /** One case per entry: accepted whole, or refused. */
  either(cases: EitherCase[]): void;
}

export function describeFraming(getBackend: () => Backend, backendOptions?: Record<string, unknown>, { refusesChunkedRequestBodies = false }: HardeningOptions = {}): void {
  describe('HTTP/1.1 framing (RFC 9112)', () => describeFramingOf(getBackend, backendOptions, refusesChunkedRequestBodies));
}

// Every case on TCP for each app kind; on a unix socket, where an engine may read through other code,
// the refusals and the pipelining cases, for a fetch app.
const SERVERS: [string, AppKind, 'tcp' | 'unix'][] = [
  ['node app', 'node', 'tcp'],
  ['fetch app', 'fetch', 'tcp'],
  ['fetch app on a unix socket: refusals and pipelining', 'fetch', 'unix'],
];

function describeFramingOf(getBackend: () => Backend, backendOptions: Record<string, unknown> | undefined, refusesChunkedBodies: boolean): void {
  describe.each(SERVERS)('%s', (_title, kind, socket) => {
    const seen: Seen[] = [];
    let server: RunningServer | undefined;
    let address: BoundAddress;
    let directory: string | undefined;
    const serves = () => getBackend().appKinds.includes(kind);

    beforeAll(async () => {
      if (!serves()) return;
      const app = watched(createFixtureApps()[kind], seen);
      directory = socket === 'unix' ? mkdtempSync(join(tmpdir(), 'chaussette-framing-')) : undefined;
      const target: ListenTarget = directory ? { type: 'unix', path: join(directory, 'socket'), backlog: 511 } : { type: 'tcp', host: '127.0.0.1', port: 0, backlog: 511 };
      server = await startServer({ app, backend: getBackend(), targets: [target], logger: quietLogger, backendOptions });
      address = server.listening[0]!.bound;
    });
    afterAll(async () => {
      await server?.close(1000);
      if (directory) rmSync(directory, { recursive: true, force: true });
    });
    // Before the beforeEach that forgets what the app saw, the baseline's request included.
    servedBaseline({ check: getServed(() => address), skipped: () => (serves() ? undefined : `the ${getBackend().name} backend does not serve ${kind} apps`) });
    beforeEach((context) => {
      if (!serves()) context.skip(`the ${getBackend().name} backend does not serve ${kind} apps`);
      seen.length = 0;
    });

    const refused = (cases: RefusedCase[], options: { headReachesApp?: boolean } = {}) => {
      for (const { name, wire, refusals } of cases) {
        kitTest(`refuses ${name}`, async () => {
          const result = await exchange(address, wire + EVIL);
          expectRefused(result, seen, { refusals, ...options });
        });
      }
    };
    const onlyRefusals = socket === 'unix';
    const accepted = (cases: AcceptedCase[]) => {
      if (onlyRefusals) return;
      for (const { name, wire, want } of cases) kitTest(`accepts ${name}`, async () => expectAccepted(await exchange(address, wire + NEXT), seen, [want, NEXT_WANT]));
    };
    const acceptedChunked = (cases: AcceptedCase[]) => {
      if (!refusesChunkedBodies || onlyRefusals) return accepted(cases);
      for (const { name, wire } of cases) {
        // 411, or the engine's own 400 for a body it could not parse after the head was refused.
        kitTest(`refuses ${name}, as every chunked request body (411), and closes`, async () => {
          const result = await exchange(address, wire);
          const what = story(result, seen);
          expect(result.statusLines, what).toHaveLength(1);
          expect(result.statusLines[0], what).toMatch(/^HTTP\/1\.1 (411|400) /);
          expect(seen, `the app was handed the refused request: ${what}`).toEqual([]);
          expect(result.closed, `the connection stayed open: ${what}`).toBe(true);
        });
      }
    };
    const either = (cases: EitherCase[]) => {
      if (onlyRefusals) return;
      for (const { name, wire, want, refusals } of cases) {
        kitTest(`accepts whole or refuses ${name}`, async () => expectAcceptedOrRefused(await exchange(address, wire + NEXT), seen, [want, NEXT_WANT], refusals));
      }
    };

    const on: FramingCases = { seen, refused, accepted, acceptedChunked, either, address: () => address };
    contentLengthCases(on);
    transferEncodingCases(on);
    chunkedBodyCases(on);
    requestLineCases(on);
    undecodableTargetCase(on);
    pipeliningCases(on);
  });
}

// RFC 9112 §6.3 (5): an invalid Content-Length is an unrecoverable error, 400 and close. RFC 9110
// §8.6: a list of one repeated value may be taken as that value, or refused.
function contentLengthCases(on: FramingCases): void {
  const { refused, accepted, either } = on;
  describe('Content-Length', () => {
    accepted([{ name: 'a plain `Content-Length: 5` body', wire: post('Content-Length: 5\r\n', 'hello'), want: digested('hello') }]);
    refused([
      { name: 'two different values, 0 then 31 (the body is a request)', wire: post('Content-Length: 0\r\nContent-Length: 31\r\n') },
      { name: 'two different values, 31 then 0', wire: post('Content-Length: 31\r\nContent-Length: 0\r\n') },
      { name: 'a list of different values `0, 31`', wire: post('Content-Length: 0, 31\r\n') },
      { name: 'an empty value', wire: post('Content-Length:\r\n', 'hello') },
      { name: 'a signed value `+5`', wire: post('Content-Length: +5\r\n', 'hello') },
      { name: 'a negative value `-5`', wire: post('Content-Length: -5\r\n', 'hello') },
      { name: 'trailing non-digits `5a`', wire: post('Content-Length: 5a\r\n', 'hello') },
      { name: 'a hex value `0x5`', wire: post('Content-Length: 0x5\r\n', 'hello') },
      { name: 'whitespace inside `5 5`', wire: post('Content-Length: 5 5\r\n', 'hello') },
      { name: 'a huge value 99999999999999999999 (413 or 400)', wire: post('Content-Length: 99999999999999999999\r\n', 'hello'), refusals: [400, 413] },
    ]);
    either([
      { name: 'two equal fields `5` and `5`', wire: post('Content-Length: 5\r\nContent-Length: 5\r\n', 'hello'), want: digested('hello') },
      { name: 'a list `5, 5`', wire: post('Content-Length: 5, 5\r\n', 'hello'), want: digested('hello') },
    ]);
  });
}

// RFC 9112 §6.1 and §6.3 (3, 4): chunked must be the final coding of a request, or 400 and close; an
// unknown coding is 501; with Content-Length too, the server may refuse and must close after
// answering (SECURITY.md: refused). Coding names are case-insensitive (§7); the value is a list
// with optional whitespace around it (RFC 9110 §5.6.1), and nothing else is whitespace.
function transferEncodingCases(on: FramingCases): void {
  const { refused, acceptedChunked, either, seen } = on;
  describe('Transfer-Encoding', () => {
    acceptedChunked([
      { name: '`chunked`', wire: chunked(HELLO_CHUNKED), want: digested('hello') },
      { name: '`Chunked` (coding names are case-insensitive)', wire: post('Transfer-Encoding: Chunked\r\n', HELLO_CHUNKED), want: digested('hello') },
      { name: '`chunked` with spaces and tabs before it, a space after it', wire: post('Transfer-Encoding: \t chunked \r\n', HELLO_CHUNKED), want: digested('hello') },
      { name: '`chunked` with a tab after it (OWS too)', wire: post('Transfer-Encoding: chunked\t\r\n', HELLO_CHUNKED), want: digested('hello') },
    ]);
    refused([
      { name: 'Content-Length before Transfer-Encoding (CL.TE)', wire: post('Content-Length: 0\r\nTransfer-Encoding: chunked\r\n', HELLO_CHUNKED) },
      { name: 'Transfer-Encoding before Content-Length (TE.CL)', wire: post(`Transfer-Encoding: chunked\r\nContent-Length: ${5 + EVIL.length}\r\n`, '0\r\n\r\n') },
      { name: '`chunked` not last: `chunked, gzip`', wire: post('Transfer-Encoding: chunked, gzip\r\n', HELLO_CHUNKED), refusals: UNKNOWN_CODING },
      { name: '`gzip` alone (no chunked to frame the body)', wire: post('Transfer-Encoding: gzip\r\n', HELLO_CHUNKED), refusals: UNKNOWN_CODING },
      { name: '`identity` (no longer a coding)', wire: post('Transfer-Encoding: identity\r\n', HELLO_CHUNKED), refusals: UNKNOWN_CODING },
      { name: '`chunked, chunked`', wire: post('Transfer-Encoding: chunked, chunked\r\n', HELLO_CHUNKED), refusals: UNKNOWN_CODING },
      { name: 'two fields, `chunked` twice', wire: post('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', HELLO_CHUNKED), refusals: UNKNOWN_CODING },
      { name: 'two fields, `chunked` then `x`', wire: post('Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n', HELLO_CHUNKED), refusals: UNKNOWN_CODING },
      // What String.prototype.trim() and other lenient parsers take for whitespace, a proxy may not.
      { name: 'a vertical tab before `chunked`', wire: post('Transfer-Encoding: \x0bchunked\r\n', HELLO_CHUNKED), refusals: UNKNOWN_CODING },
      { name: 'a form feed after `chunked`', wire: post('Transfer-Encoding: chunked\x0c\r\n', HELLO_CHUNKED), refusals: UNKNOWN_CODING },
      { name: 'an obs-text byte (0xA0, NBSP) before `chunked`', wire: post('Transfer-Encoding: \xa0chunked\r\n', HELLO_CHUNKED), refusals: UNKNOWN_CODING },
    ]);
    // RFC 9112 §5.2: obs-fold is refused, or replaced by SP (then the value is `chunked`).
    either([{ name: 'a value folded onto the next line (obs-fold)', wire: post('Transfer-Encoding:\r\n chunked\r\n', HELLO_CHUNKED), want: digested('hello') }]);

    // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing, and the connection
    // is closed after it, keep-alive or not: refused (505 too: a server may refuse HTTP/1.0 outright),
    // or answered once and then closed.
    kitTest('refuses, or answers once and closes, Transfer-Encoding in an HTTP/1.0 request', async () => {
      const wire = `POST /digest HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n${HELLO_CHUNKED}`;
      const result = await exchange(on.address(), wire + EVIL);
      if (!(result.responses[0] && result.responses[0].status < 300)) return expectRefused(result, seen, { refusals: ['4xx', 505] });
      const what = story(result, seen);
      expect(result.statusLines.length, `more than one answer: ${what}`).toBe(1);
      expect(seen.map(({ path }) => path), `the app was handed what follows: ${what}`).toEqual(['/digest']);
      expect(result.closed, `the connection stayed open: ${what}`).toBe(true);
    });
  });
}

// RFC 9112 §7.1: chunk-size is 1*HEXDIG, each chunk line ends in CRLF (§2.2's LF alone is for the
// start-line and fields), a chunk's data is followed by CRLF; extensions and trailers are framing
// the server must read past. The head of these is fine: the app may be handed the request before
// its body fails, but its answer must not go out.
function chunkedBodyCases(on: FramingCases): void {
  const { refused, acceptedChunked } = on;
  describe('chunked body', () => {
    acceptedChunked([
      { name: 'extensions (`5;name=value`, `6;flag`) and a trailer', wire: chunked('5;name=value\r\nhello\r\n6;flag\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n'), want: digested('hello world') },
      { name: 'a quoted extension value holding `;` and `=`', wire: chunked('5;name="a;b=c"\r\nhello\r\n0\r\n\r\n'), want: digested('hello') },
      { name: 'an uppercase hex size with leading zeros (`00A`)', wire: chunked('00A\r\n0123456789\r\n0\r\n\r\n'), want: digested('0123456789') },
    ]);
    refused(
      [
        { name: 'a non-hex chunk size `g`', wire: chunked('g\r\nhello\r\n0\r\n\r\n') },
        { name: 'a chunk size with a non-hex tail `5g`', wire: chunked('5g\r\nhello\r\n0\r\n\r\n') },
        { name: 'an empty chunk size', wire: chunked('\r\nhello\r\n0\r\n\r\n') },
        { name: 'a chunk size `0x5`', wire: chunked('0x5\r\nhello\r\n0\r\n\r\n') },
        { name: 'a chunk size with a leading `+`', wire: chunked('+5\r\nhello\r\n0\r\n\r\n') },
        { name: 'a chunk size of 20 hex digits (5 once it overflows 64 bits)', wire: chunked('10000000000000000005\r\nhello\r\n0\r\n\r\n') },
        { name: 'chunk data not followed by CRLF', wire: chunked('5\r\nhello0\r\n\r\n') },
        { name: 'chunk data followed by two bytes other than CRLF', wire: chunked('5\r\nhelloXX0\r\n\r\n') },
        { name: 'LF alone after the chunk size', wire: chunked('5\nhello\r\n0\r\n\r\n') },
        { name: 'LF alone after the chunk data', wire: chunked('5\r\nhello\n0\r\n\r\n') },
        { name: 'LF alone on every chunk line', wire: chunked('5\nhello\n0\n\n') },
        { name: 'a bare CR in a chunk extension', wire: chunked('5;a\rb\r\nhello\r\n0\r\n\r\n') },
        { name: 'a bare LF in a chunk extension', wire: chunked('5;a\nb\r\nhello\r\n0\r\n\r\n') },
      ],
      { headReachesApp: true },
    );
  });
}

// RFC 9112 §2.2 (bare CR, LF alone), §3 (request line), §3.2 (Host), §5 (field lines); RFC 9110 §5.5
// (CR, LF, NUL in a value: refused or replaced by SP) and §2.5 (a higher minor version is served as
// the highest one the server implements).
function requestLineCases(on: FramingCases): void {
  const { refused, accepted, either } = on;
  describe('request line and header fields', () => {
    accepted([
      { name: 'an absolute-form target `http://a/url?x`', wire: 'GET http://a/url?x HTTP/1.1\r\nHost: a\r\n\r\n', want: { method: 'GET', path: '/url?x', authority: 'a' } },
      { name: "an absolute-form target's host over the Host field", wire: 'GET http://a/url?x HTTP/1.1\r\nHost: b\r\n\r\n', want: { method: 'GET', path: '/url?x', authority: 'a' } },
    ]);
    refused([
      { name: 'whitespace between a field name and its colon (`Host : a`)', wire: 'GET /url HTTP/1.1\r\nHost : a\r\n\r\n', refusals: [400] },
      { name: 'whitespace between a field name and its colon (`Content-Length : 5`)', wire: post('Content-Length : 5\r\n', 'hello'), refusals: [400] },
      { name: 'a space inside a field name', wire: 'GET /url HTTP/1.1\r\nHost: a\r\nX A: 1\r\n\r\n' },
      { name: 'a control character in a field name', wire: 'GET /url HTTP/1.1\r\nHost: a\r\nX\x01A: 1\r\n\r\n' },
      { name: 'an empty field name (`: x`)', wire: 'GET /url HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n' },
      // Read without the field before it, the body is the next request.
      { name: 'an empty field name before Content-Length', wire: `GET /url HTTP/1.1\r\nHost: a\r\n: x\r\nContent-Length: ${EVIL.length}\r\n\r\n` },
      { name: 'DEL (0x7F) in a field value', wire: 'GET /url HTTP/1.1\r\nHost: a\r\nX-A: a\x7fb\r\n\r\n' },
      { name: 'an HTTP/1.1 request without Host', wire: 'GET /url HTTP/1.1\r\nX-A: 1\r\n\r\n', refusals: [400] },
      { name: 'two Host fields', wire: 'GET /url HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', refusals: [400] },
      { name: 'two equal Host fields', wire: 'GET /url HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n', refusals: [400] },
      { name: 'an invalid Host value `a/b`', wire: 'GET /url HTTP/1.1\r\nHost: a/b\r\n\r\n', refusals: [400] },
      { name: 'a lowercase protocol name `http/1.1`', wire: 'GET /url http/1.1\r\nHost: a\r\n\r\n', refusals: ['4xx', 505] },
      { name: 'major version `HTTP/2.0` in HTTP/1 syntax', wire: 'GET /url HTTP/2.0\r\nHost: a\r\n\r\n', refusals: ['4xx', 505] },
    ]);
    // SECURITY.md: at most 100 fields by default (--limit-request-fields), or 431. node:http kept the
    // first 1,000 fields only, and a check reading those missed a field past them.
    const fields = (count: number) => 'a: b\r\n'.repeat(count);
    refused([
      { name: '101 fields, past the default --limit-request-fields (431)', wire: `GET /url HTTP/1.1\r\nHost: a\r\n${fields(100)}\r\n`, refusals: [431] },
      { name: 'a second Host after 1,100 other fields', wire: `GET /url HTTP/1.1\r\nHost: a\r\n${fields(1100)}Host: b\r\n\r\n` },
      { name: '`gzip, chunked` after 1,100 other fields', wire: post(`${fields(1100)}Transfer-Encoding: gzip, chunked\r\n`, HELLO_CHUNKED), refusals: UNKNOWN_CODING },
      {
        name: 'Transfer-Encoding in an HTTP/1.0 request after 1,100 other fields',
        wire: `POST /digest HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n${fields(1100)}Transfer-Encoding: chunked\r\n\r\n${HELLO_CHUNKED}`,
        refusals: ['4xx', 505],
      },
    ]);
    either([
      { name: 'a request of 100 fields, the default --limit-request-fields (or 431)', wire: `GET /url HTTP/1.1\r\nHost: a\r\n${fields(99)}\r\n`, want: echoed('/url'), refusals: [431] },
      { name: 'a bare CR in a field value (or read as SP)', wire: 'GET /headers HTTP/1.1\r\nHost: a\r\nX-Multi-In: a\rb\r\n\r\n', want: multiIn('a b') },
      { name: 'NUL in a field value (or read as SP)', wire: 'GET /headers HTTP/1.1\r\nHost: a\r\nX-Multi-In: a\x00b\r\n\r\n', want: multiIn('a b') },
      { name: 'LF alone as the line end of the request line and fields', wire: 'POST /digest HTTP/1.1\nHost: a\nContent-Length: 5\n\nhello', want: digested('hello') },
      { name: 'obs-fold, a field line starting with SP (or one value, folded with SP)', wire: 'GET /headers HTTP/1.1\r\nHost: a\r\nX-Multi-In: a\r\n b\r\n\r\n', want: multiIn(/^\{"x-multi-in":"a +b"\}$/) },
      { name: 'obs-fold, a field line starting with HTAB', wire: 'GET /headers HTTP/1.1\r\nHost: a\r\nX-Multi-In: a\r\n\tb\r\n\r\n', want: multiIn(/^\{"x-multi-in":"a[ \t]+b"\}$/) },
      { name: 'two spaces between method and target (or one)', wire: 'GET  /url HTTP/1.1\r\nHost: a\r\n\r\n', want: echoed('/url'), refusals: ['4xx', 301] },
      { name: 'minor version `HTTP/1.2` (served as 1.1)', wire: 'GET /url HTTP/1.2\r\nHost: a\r\n\r\n', want: echoed('/url'), refusals: ['4xx', 505] },
    ]);
  });
}

// RFC 3986 §2.1: a path with a malformed percent-encoding is the app's to judge, as sent.
function undecodableTargetCase(on: FramingCases): void {
  kitTest('hands the app a path it cannot percent-decode (`/%zz`) as sent', async () => {
    const result = await exchange(on.address(), 'GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n' + NEXT);
    const what = story(result, on.seen);
    expect(on.seen.map(({ path }) => path), `the app was not handed the requests as sent: ${what}`).toEqual(['/%zz', '/url?next']);
    // The fixture's 404 for a path it has no route for.
    expect(result.responses.map(({ status }) => status), `not the app's answers: ${what}`).toEqual([404, 200]);
  });
}

// RFC 9112 §9.3: pipelined requests are answered in order; §9.6: nothing is processed after
// `Connection: close`. RFC 9110 §9.3.2, §15.3.5, §15.4.5: HEAD, 204 and 304 responses end with their
// head, whatever they announce; a byte more would be read as the next response.
function pipeliningCases(on: FramingCases): void {
  const { seen } = on;
  describe('pipelining', () => {
    kitTest('answers three GETs sent in one write, in order', async () => {
      const wire = ['/url?1', '/url?2'].map((target) => `GET ${target} HTTP/1.1\r\nHost: a\r\n\r\n`).join('') + 'GET /url?3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n';
      expectAccepted(await exchange(on.address(), wire), seen, [echoed('/url?1'), echoed('/url?2'), echoed('/url?3')]);
    });

    // RFC 9112 §9.6: the server closes the connection after its answer to a request with the `close`
    // option, and processes no request after it. A client that sends one anyway breaks the RFC: the
    // safety is that nothing behind is served; answering the first is the courtesy nginx and node:http pay.
    for (const option of ['close', 'keep-alive, Close']) {
      kitTest(`answers a request with \`Connection: ${option}\`, and closes`, async () => {
        const result = await exchange(on.address(), `GET /url?1 HTTP/1.1\r\nHost: a\r\nConnection: ${option}\r\n\r\n`);
        const what = story(result, seen);
        expect(result.responses.map(({ body }) => body.toString()), what).toEqual(['GET /url?1']);
        expect(result.closed, `the connection stayed open: ${what}`).toBe(true);
      });

      kitTest(`serves nothing after a request with \`Connection: ${option}\`, and closes`, async () => {
        const result = await exchange(on.address(), `GET /url?1 HTTP/1.1\r\nHost: a\r\nConnection: ${option}\r\n\r\n${EVIL}`);
        const what = story(result, seen);
        expect(result.statusLines.length, `more than one answer: ${what}`).toBeLessThanOrEqual(1);
        expect(result.responses.map(({ body }) => body.toString()), what).not.toContain('GET /evil');
        expect(seen.map(({ path }) => path).filter((path) => path !== '/url?1'), `the app was handed the request after close: ${what}`).toEqual([]);
        expect(result.closed, `the connection stayed open: ${what}`).toBe(true);
      });
    }

    kitTest('answers a request with `Connection: close` that has another pipelined behind it', async () => {
      const result = await exchange(on.address(), 'GET /url?1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /url?2 HTTP/1.1\r\nHost: a\r\n\r\n');
      const what = story(result, seen);
      expect(result.responses.map(({ body }) => body.toString()), what).toEqual(['GET /url?1']);
      expect(result.closed, `the connection stayed open: ${what}`).toBe(true);
    });

    kitTest('answers nothing after a refused request (a bad protocol version)', async () => {
      const result = await exchange(on.address(), 'GET /url FOO/1.1\r\nHost: a\r\n\r\nGET /url?after HTTP/1.1\r\nHost: a\r\n\r\n');
      expectRefused(result, seen, { refusals: ['4xx', 505] });
    });

    kitTest('sends no body for HEAD: the GET after it is framed right', async () => {
      const result = await exchange(on.address(), 'HEAD / HTTP/1.1\r\nHost: a\r\n\r\n' + NEXT, { methods: ['HEAD', 'GET'] });
      expectAccepted(result, seen, [{ method: 'HEAD', path: '/' }, NEXT_WANT]);
      expect(result.responses[1]!.start, 'bytes between the HEAD response head and the next response').toBe(result.responses[0]!.bodyStart);
    });

    for (const status of [204, 304]) {
      kitTest(`sends no body with a ${status}: the next response follows its head${status === 204 ? ', which has no Content-Length or Transfer-Encoding' : ''}`, async () => {
        const result = await exchange(on.address(), `GET /status/${status} HTTP/1.1\r\nHost: a\r\n\r\n` + NEXT);
        const what = story(result, seen);
        expect(result.responses.map((response) => response.status), what).toEqual([status, 200]);
        expect(result.responses[1]!.start, `bytes between the ${status} head and the next response`).toBe(result.responses[0]!.bodyStart);
        expect(result.responses[1]!.body.toString()).toBe('GET /url?next');
        expect(result.rest.toString('latin1')).toBe('');
        // RFC 9110 §8.6 and RFC 9112 §6.1: neither field in a 204.
        if (status === 204) expect(result.responses[0]!.head).not.toMatch(/\r\n(content-length|transfer-encoding):/i);
      });
    }
  });
}
