import { X509Certificate } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { byteLength, type ClientCertificates, clientAddress, type Limits, refusal, refusalFor, type RequestHead, type ResponseSink, type ServeOptions } from '@chaussette/core';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';

/** What the exchanges of one server share: the requests in flight (for a graceful close) and the options. */
export class ServerState {
  count = 0;
  closing = false;
  /** Served over TLS: fetch apps' URLs are https://, node apps' `req.socket.encrypted` is true. */
  encrypted = false;
  /** --cert-reqs: unless 'none', each request reads the client's certificate from uWS. */
  clientCertificates: ClientCertificates = 'none';

  constructor(
    readonly accessLog: ServeOptions['accessLog'],
    readonly trustedProxies: ServeOptions['trustedProxies'],
    readonly limits: Limits,
    /** uWebSockets.js 20.57 or later (see LoadedUws.current). */
    readonly currentEngine: boolean,
    /** backendOptions.chunkedBehindProxy: chunked request bodies are taken, not refused with 411. */
    readonly chunkedBehindProxy = false,
  ) {}

  /**
   * Answers a request over the limits (see refusalFor) before the app sees it; true if it did. uWS
   * parses chunked bodies in C++, where a malformed one lets the bytes after it through as the next
   * request (SECURITY.md): unless a proxy in front re-frames them, they get 411 (RFC 9112 §6.3).
   */
  refused(exchange: Exchange): boolean {
    // uSockets asks for a client certificate, and fails the handshake of one that does not verify, but
    // lets a client without one finish it: its requests get nginx's answer to the same (ssl_verify_client on).
    if (this.clientCertificates === 'required' && !exchange.peerCertificatePem) {
      exchange.refuseAlone(400, 'Bad Request: no required TLS client certificate was sent\n');
      return true;
    }
    const status = exchange.malformedField
      ? 400
      : refusalFor(exchange, this.limits) || (exchange.transferEncodings.length > 0 && !this.chunkedBehindProxy ? 411 : 0);
    if (status) exchange.refuseAlone(status);
    return status !== 0;
  }

  /**
   * True if the request may be served now: it is not refused, and does not ask to close the connection.
   * One that does gets `serve` called once uWS has read what came with it (see Exchange.afterRead): RFC
   * 9112 §9.6 forbids serving any request behind it, and uWS would.
   */
  servesNow(exchange: Exchange, serve: (exchange: Exchange) => void): boolean {
    if (this.refused(exchange)) return false;
    if (!exchange.closeRequested) return true;
    exchange.afterRead(() => serve(exchange));
    return false;
  }

  #idle: (() => void)[] = [];

  add(): void {
    this.count++;
  }
  delete(): void {
    if (--this.count === 0 && this.#idle.length > 0) for (const resolve of this.#idle.splice(0)) resolve();
  }
  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.#idle.push(resolve));
  }
}

/** uWS writes these itself (framing, Date), or chaussette decides them (Connection). */
function isManagedHeader(name: string): boolean {
  switch (name) {
    case 'content-length':
    case 'transfer-encoding':
    case 'date':
    case 'connection':
    case 'keep-alive':
      return true;
    default:
      return false;
  }
}
const BODY_HIGH_WATER_MARK = 64 * 1024;
// A response body this small fits the socket's send buffer: end() sends it at once.
const SMALL_BODY = 64 * 1024;
const utf8 = new TextEncoder();
const decoder = new TextDecoder();

const NO_LENGTHS: string[] = [];
const CLOSE_OPTION = /(?:^|,)[ \t]*close[ \t]*(?:,|$)/i;
const EVENT_STREAM = /^\s*text\/event-stream\s*(?:;|$)/i;

function isEventStream(headers: readonly string[]): boolean {
  for (let index = 0; index < headers.length; index += 2) if (headers[index]!.toLowerCase() === 'content-type') return EVENT_STREAM.test(headers[index + 1]!);
  return false;
}

// One function for every request's headers, instead of a closure per request.
let collecting: string[] = [];
const collectHeader = (name: string, value: string) => void collecting.push(name, value);

/**
 * One request and its response on uWebSockets.js. uWS's request object dies when the handler returns:
 * everything the app may read later is copied here first. Every write after the handler returns is corked,
 * respects backpressure (`tryEnd`/`write` + `onWritable`), and does nothing once the client is gone.
 */
export class Exchange implements RequestHead, ResponseSink {
  readonly method: string;
  /** Path and query, as the request line had them. */
  readonly url: string;
  /** Flat `[name, value…]`, names lowercase (uWS lowercases them), repeated headers kept apart. */
  readonly headers: string[];
  /** Every Content-Length and Transfer-Encoding the request has (see refusalFor). */
  readonly contentLengths: string[] = NO_LENGTHS;
  readonly transferEncodings: string[] = NO_LENGTHS;
  /** Every Host the request has: uWS 20.57 refuses a missing one and two, not an invalid one; 20.30 none. */
  readonly hosts: string[] = NO_LENGTHS;
  /**
   * A field node:http refuses and uWS lets through: DEL (0x7F) in a value (RFC 9110 §5.5), or an empty
   * name. uWS refuses the other control characters itself; 20.57 reads an empty name as the end of the
   * fields, so JavaScript never sees one there (SECURITY.md).
   */
  readonly malformedField: boolean = false;
  /** The request's Connection field has the `close` option: the connection ends with its response. */
  readonly closeRequested: boolean = false;
  /** Requests in flight when this one arrived. */
  readonly inFlight: number;
  /** The client's certificate, verified by uSockets during the handshake, as PEM; '' for none (or when not asked for). */
  readonly peerCertificatePem: string = '';
  #peerCertificate: X509Certificate | undefined;
  readonly body: RequestBody | undefined;
  aborted = false;
  /** True while uWS's request handler runs (see leaveHandler()). */
  inHandler = true;
  /** The response is complete (sent, or the client is gone) and the request left the in-flight count. */
  done = false;
  headersSent = false;
  #abortListeners: (() => void)[] | undefined;
  /** The write uWS could not take whole, waiting for the socket to drain (see #retryBlocked). */
  #blocked: BlockedWrite | undefined;
  #watchingWritable = false;
  #contentLength: number | undefined;
  #closeConnection = false;
  #started = 0;
  #status = 0;
  #bytes: number | undefined;
  #remoteAddress: string | undefined;
  /** A refusal waits for uWS's read to end (refuseAlone): the app's answer is not sent. */
  #refusing = false;
  /** Done, but the connection is still to be closed (#closeSoon): uWS still wants an abort handler. */
  #closePending = false;
  #watchingAbort = false;
  /** The write that uWS has not taken whole yet, and those queued behind it. */
  #queue: Promise<void> | undefined;

  constructor(
    readonly res: HttpResponse,
    req: HttpRequest,
    readonly state: ServerState,
  ) {
    this.method = req.getCaseSensitiveMethod();
    const query = req.getQuery();
    this.url = query ? `${req.getUrl()}?${query}` : req.getUrl();
    const headers: string[] = [];
    collecting = headers;
    req.forEach(collectHeader);
    this.headers = headers;
    this.inFlight = state.count;
    if (state.clientCertificates !== 'none') this.peerCertificatePem = (res as HttpResponse & { getX509Certificate(): string }).getX509Certificate();
    state.add();
    if (state.accessLog) {
      this.#started = performance.now();
      this.#remoteAddress = this.remoteAddress; // the response object cannot tell it once the response is done
    }
    for (let index = 0; index < headers.length; index += 2) {
      const name = headers[index];
      if (name === '' || headers[index + 1]!.includes('\x7F')) this.malformedField = true;
      if (name === 'content-length') {
        if (this.contentLengths === NO_LENGTHS) this.contentLengths = [];
        this.contentLengths.push(headers[index + 1]!);
      } else if (name === 'host') {
        if (this.hosts === NO_LENGTHS) this.hosts = [headers[index + 1]!];
        else this.hosts.push(headers[index + 1]!);
      } else if (name === 'transfer-encoding') {
        if (this.transferEncodings === NO_LENGTHS) this.transferEncodings = [];
        this.transferEncodings.push(headers[index + 1]!);
      } else if (name === 'connection' && headers[index + 1] !== 'keep-alive' && CLOSE_OPTION.test(headers[index + 1]!)) {
        this.closeRequested = true;
        // uWS closes after the response by itself for a Connection field of five characters only.
        if (headers[index + 1]!.length !== 5) this.#closeConnection = true;
      }
    }
    if (this.transferEncodings.length > 0 || Number(this.contentLengths[0]) > 0) {
      this.body = new RequestBody(res, () => this.#blocked === undefined, state.limits.requestBodyBytes, () => this.#bodyTooLarge());
    }
  }

  /**
   * Called when uWS's request handler returns. A response still to come needs an abort handler (uWS's
   * rule for answering later); one already sent does not, which saves a closure and a native call.
   */
  /** The response is complete and nothing is left to do on the connection: leaveHandler() needs no wait. */
  get answered(): boolean {
    return this.done && !this.#closePending;
  }

  leaveHandler(): void {
    this.inHandler = false;
    if (!this.done || this.#closePending) this.#watchAbort();
  }

  #watchAbort(): void {
    if (this.#watchingAbort) return;
    this.#watchingAbort = true;
    this.res.onAborted(() => {
      this.aborted = true;
      this.#finish();
      this.body?.fail(new Error('aborted'));
      this.#unblock();
      for (const listener of this.#abortListeners ?? []) listener();
    });
  }

  /** The client's address: the peer's, or with trusted proxies (--proxy-headers) the one they forwarded. */
  get remoteAddress(): string | undefined {
    if (this.#remoteAddress === undefined && !this.aborted && !this.done) {
      // Empty for a peer on a unix socket, which node:net gives as undefined: so do we, and the access log shows '-'.
      const peer = decoder.decode(this.res.getRemoteAddressAsText()) || undefined;
      this.#remoteAddress = clientAddress(peer, this.header('x-forwarded-for'), this.state.trustedProxies);
    }
    return this.#remoteAddress;
  }

  /** The verified client certificate (--cert-reqs optional or required), undefined when none was sent. */
  get peerCertificate(): X509Certificate | undefined {
    if (this.#peerCertificate === undefined && this.peerCertificatePem) this.#peerCertificate = new X509Certificate(this.peerCertificatePem);
    return this.#peerCertificate;
  }

  header(name: string): string | undefined {
    for (let index = 0; index < this.headers.length; index += 2) if (this.headers[index] === name) return this.headers[index + 1];
    return undefined;
  }

  get isHead(): boolean {
    return this.method === 'HEAD';
  }

  onAbort(listener: () => void): void {
    if (this.aborted) listener();
    else (this.#abortListeners ??= []).push(listener);
  }

  /**
   * Sends a whole response: status, headers and a body known in full (null: none). Returns a promise
   * only when uWS could not take all of it at once (backpressure); it resolves once the body is out.
   */
  respond(status: number, statusText: string, headers: readonly string[], body: string | Uint8Array | null): Promise<void> | undefined {
    if (this.aborted || this.done || this.#refusing) return undefined;
    if (this.inHandler) return this.#respondNow(status, statusText, headers, body);
    let sent: Promise<void> | undefined;
    this.res.cork(() => {
      sent = this.#respondNow(status, statusText, headers, body);
    });
    return sent;
  }

  #respondNow(status: number, statusText: string, headers: readonly string[], body: string | Uint8Array | null): Promise<void> | undefined {
    const declared = this.#writeHead(status, statusText, headers, false);
    // Counted for the access log only.
    if (this.state.accessLog) this.#bytes = body === null ? (this.isHead ? 0 : declared ?? 0) : this.isHead ? 0 : byteLength(body);
    if (this.isHead || body === null || status === 204 || status === 304) {
      // uWS 20.30's endWithoutBody(): without arguments it writes no Content-Length; with any (even
      // undefined) it writes its own, 9223372036854775808 unless given, and with a length above 0 it
      // waits for that body. The request's `Connection: close` it ignores.
      const close = this.#closeConnection || this.closeRequested;
      this.#discardBody();
      // uWS 20.30 does not count endWithoutBody() as an answer in the handler: it wants an abort handler.
      this.#watchAbort();
      // HEAD tells the length GET would have; a response without a body (but 204 and 304) says 0.
      const length = status === 204 || status === 304 ? undefined : !this.isHead ? 0 : body === null ? declared : byteLength(body);
      if (close) {
        // uWS 20.57 writes the length given and closes; 20.30 would wait for that many body bytes.
        this.res.endWithoutBody(this.state.currentEngine ? (length ?? 0) : 0, true);
      } else {
        if (length !== undefined) this.res.writeHeader('content-length', String(length));
        this.res.endWithoutBody();
      }
      this.#finish();
      return undefined;
    }
    // uWS takes strings as they are (UTF-8 encoded in C++).
    if (this.#closeConnection || (typeof body === 'string' ? body.length * 3 <= SMALL_BODY : body.byteLength <= SMALL_BODY)) {
      // Goes out at once (or, with `closeConnection`, uWS says `Connection: close` and closes once it is out).
      this.#discardBody();
      this.res.end(body, this.#closeConnection);
      this.#finish();
      return undefined;
    }
    const bytes = typeof body === 'string' ? utf8.encode(body) : body;
    this.#contentLength = bytes.byteLength;
    return this.#send(bytes, true);
  }

  /**
   * Runs uWS writes corked, so they leave in one syscall. Inside the request handler uWS has corked the
   * socket already (and cork() there costs a native call per request), so only later writes need it.
   */
  corked(write: () => void): void {
    if (this.inHandler) write();
    else this.res.cork(write);
  }

  /** Starts a response whose body follows in chunks: `length` when known (tryEnd), chunked otherwise. */
  startStream(status: number, statusText: string, headers: readonly string[]): void {
    if (this.aborted || this.done || this.#refusing) return;
    this.corked(() => {
      this.#contentLength = this.#writeHead(status, statusText, headers, true);
      this.#bytes = this.#contentLength;
      // uWS sends the head with the first chunk only (uWebSockets#1895, even write('') waits): a stream of
      // server-sent events would hold back its headers, and the client's 'open', until its first event.
      // A comment line, which every SSE client skips, sends them now. Other streams wait for their first chunk.
      if (this.#contentLength === undefined && isEventStream(headers)) this.res.write(':\n');
    });
  }

  /** Nothing to do: startStream() has sent what lets an event stream's head out before its first event. */
  flushHead(): void {}

  /**
   * Writes one chunk of a streamed body; returns a promise, when uWS is full, that resolves once it can
   * take more. Chunks written meanwhile queue behind it: tryEnd() keeps nothing of what it could not send.
   */
  write(chunk: Uint8Array): Promise<void> | undefined {
    if (this.aborted || this.done || this.#refusing || chunk.byteLength === 0) return undefined;
    const sent = this.#queue ? this.#queue.then(() => this.#writeNow(chunk)) : this.#writeNow(chunk);
    if (sent) {
      this.#queue = sent;
      void sent.then(() => {
        if (this.#queue === sent) this.#queue = undefined;
      });
    }
    return sent;
  }

  #writeNow(chunk: Uint8Array): Promise<void> | undefined {
    if (this.aborted || this.done) return undefined;
    let sent: Promise<void> | undefined;
    this.corked(() => {
      sent = this.#send(chunk, false);
    });
    return sent;
  }

  /** Ends a streamed body, after the chunks still queued; returns a promise while they are. */
  end(): Promise<void> | undefined {
    if (this.#queue) return this.#queue.then(() => this.end());
    if (this.aborted || this.done || this.#refusing) return undefined;
    this.corked(() => {
      this.#discardBody();
      if (this.#contentLength === undefined) {
        this.res.end(undefined, this.#closeConnection);
        this.#finish();
      } else {
        // Fewer bytes than the declared content-length (all of them would have finished the response).
        this.#finish();
        this.#closeSoon();
      }
    });
    return undefined;
  }

  /**
   * Switches the connection to WebSocket (uWS's upgrade()): `userData` becomes the WebSocket's,
   * `headers` go into the 101 response, and its Sec-WebSocket-Protocol is the sub-protocol chosen.
   */
  upgrade(userData: object, headers: Headers | undefined, context: unknown): void {
    if (this.aborted || this.done) return;
    this.corked(() => {
      this.#status = 101;
      const chosen = headers?.get('sec-websocket-protocol');
      if (headers) {
        // uWS writes `200 OK` before a header unless a status came first; upgrade() keeps the one given.
        this.res.writeStatus('101 Switching Protocols');
        headers.forEach((value, name) => {
          if (name !== 'sec-websocket-protocol' && !isManagedHeader(name)) this.res.writeHeader(name, value);
        });
      }
      const offered = this.header('sec-websocket-protocol')?.split(',')[0]?.trim() ?? '';
      this.res.upgrade(userData, this.header('sec-websocket-key') ?? '', chosen ?? offered, this.header('sec-websocket-extensions') ?? '', context as never);
    });
    this.#finish();
  }

  /**
   * Calls `then` once uWS is done with the read that brought the request, for a request after which
   * nothing may be served. uWS would read and serve a request pipelined or smuggled behind it even after
   * end(body, closeConnection), but while a request is unanswered it closes the connection instead of
   * reading one behind it. So the answer waits: alone, the request gets it and the close; with more
   * behind it, the client gets the close only.
   */
  afterRead(then: () => void): void {
    this.#watchAbort();
    setImmediate(() => {
      if (!this.aborted && !this.done) then();
    });
  }

  /**
   * Answers a refusal and the close (RFC 9112 §6.3), with nothing behind the request served (see
   * afterRead). What the app answers meanwhile is not sent.
   */
  refuseAlone(status: number, message?: string): void {
    this.body?.discard();
    this.#refusing = true;
    this.afterRead(() => {
      this.#refusing = false;
      this.refuse(status, message);
    });
  }

  /** Answers `status` (see refusal; `message` in place of its body) and closes the connection. */
  refuse(status: number, message?: string): void {
    const { headers, body } = refusal(status);
    void this.respond(status, '', Object.entries(headers).flat(), message ?? body);
  }

  #bodyTooLarge(): void {
    if (this.headersSent) this.destroy();
    else this.refuseAlone(413);
    this.body?.fail(new Error('The request body is over the server\'s limit (--limit-request-body)'));
  }

  /** Cuts the connection: the client sees a broken response, not a short one. */
  destroy(): void {
    if (this.aborted || this.done || this.#refusing) return;
    this.#finish();
    this.res.close();
  }

  /** Status line and headers; returns the content-length the app declared, if any. */
  #writeHead(status: number, statusText: string, headers: readonly string[], announceClose: boolean): number | undefined {
    this.headersSent = true;
    this.#status = status;
    // uWS's default status line is `200 OK`.
    if (status !== 200 || (statusText && statusText !== 'OK')) this.res.writeStatus(`${status} ${statusText || STATUS_CODES[status] || 'Unknown'}`);
    let declared: number | undefined;
    this.#closeConnection ||= this.state.closing;
    for (let index = 0; index < headers.length; index += 2) {
      // Names arrive lowercase: from Headers, and from node's getHeaders().
      const name = headers[index]!;
      const value = headers[index + 1]!;
      if (!isManagedHeader(name)) {
        this.res.writeHeader(name, value);
      } else if (name === 'content-length') {
        declared = Number(value);
      } else if (name === 'connection' && /\bclose\b/i.test(value)) {
        this.#closeConnection = true;
      }
    }
    if (this.#closeConnection && announceClose) this.res.writeHeader('connection', 'close');
    return declared;
  }

  /** Writes `bytes` with backpressure; `whole` ends the response with them. */
  #send(bytes: Uint8Array, whole: boolean): Promise<void> | undefined {
    const res = this.res;
    if (this.#contentLength === undefined) {
      // uWS keeps what the socket did not take of a chunk: only the wait is left.
      if (res.write(bytes)) return undefined;
      return this.#waitWritable(undefined, 0);
    }
    const total = this.#contentLength;
    const start = res.getWriteOffset();
    // uWS forbids resume() once the response is complete: an unread request body is dropped before.
    if (whole || start + bytes.byteLength >= total) this.#discardBody();
    const [ok, done] = res.tryEnd(bytes, total);
    if (done) this.#finish();
    if (ok) return undefined;
    // tryEnd() keeps nothing of what the socket did not take: the rest is retried from onWritable.
    return this.#waitWritable(bytes, start);
  }

  #waitWritable(bytes: Uint8Array | undefined, start: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#blocked = { bytes, start, resolve };
      this.body?.unpause();
      if (this.#watchingWritable) return;
      this.#watchingWritable = true;
      this.res.onWritable(this.#retryBlocked);
    });
  }

  /**
   * The one onWritable handler of the response, registered once. uWS before May 2026 (20.57 included)
   * puts back the handler it is running when another one is registered meanwhile, and the promise jobs
   * a handler's resolve() starts run inside it: a handler per write would come back to retry a write
   * long done, and end the response at the wrong offset (tryEnd('') completes it) or never wake the
   * write that waits. This one retries whatever write is blocked when uWS calls it.
   */
  readonly #retryBlocked = (offset: number): boolean => {
    const blocked = this.#blocked;
    if (!blocked || this.aborted || this.done) return true;
    const rest = blocked.bytes?.subarray(offset - blocked.start);
    if (rest && rest.byteLength > 0) {
      const [ok, done] = this.res.tryEnd(rest, this.#contentLength!);
      if (done) this.#finish();
      if (!ok) return false;
    }
    this.#unblock();
    return true;
  };

  #unblock(): void {
    const blocked = this.#blocked;
    this.#blocked = undefined;
    blocked?.resolve();
  }

  /**
   * Closes the connection once what was written is out. Code running in a promise callback may still be
   * inside uWS's corked section for this socket, where close() would drop the bytes not yet flushed.
   */
  #closeSoon(): void {
    this.#closePending = true;
    setImmediate(() => {
      if (!this.aborted) this.res.close();
    });
  }

  /** A request body the app did not read is dropped, so the keep-alive connection goes on. */
  #discardBody(): void {
    this.body?.discard();
  }

  #finish(): void {
    if (this.done) return;
    this.done = true;
    this.state.delete();
    this.state.accessLog?.({
      remoteAddress: this.#remoteAddress,
      method: this.method,
      url: this.url,
      httpVersion: '1.1',
      status: this.#status,
      bytes: this.#bytes,
      referer: this.header('referer'),
      userAgent: this.header('user-agent'),
      durationMs: performance.now() - this.#started,
      aborted: this.aborted,
    });
  }
}

interface BlockedWrite {
  /** A write with a known length: its bytes, which began at offset `start` (uWS's offset says how many it took). Chunked: undefined. */
  bytes: Uint8Array | undefined;
  start: number;
  resolve: () => void;
}

/**
 * The request body as uWS delivers it (onData), queued until the app reads it; past 64 KiB unread the
 * connection is paused, so a slow reader never makes chaussette hold a large upload in memory.
 * uWS's pause() also stops writes: while the response waits to write (`mayPause` false), reading goes on.
 */
export class RequestBody {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #paused = false;
  #discarding = false;
  #error: Error | undefined;
  #waiting: (() => void) | undefined;

  #received = 0;

  constructor(
    private readonly res: HttpResponse,
    private readonly mayPause: () => boolean,
    limit: number,
    overflow: () => void,
  ) {
    res.onData((chunk, isLast) => {
      if (limit && (this.#received += chunk.byteLength) > limit && !this.#discarding) {
        overflow();
        return;
      }
      if (!this.#discarding && chunk.byteLength > 0) {
        this.#chunks.push(new Uint8Array(chunk.slice(0))); // uWS reuses the memory once this returns
        this.#buffered += chunk.byteLength;
      }
      if (isLast) this.#ended = true;
      else if (this.#buffered > BODY_HIGH_WATER_MARK && !this.#paused && this.mayPause()) {
        this.#paused = true;
        res.pause();
      }
      this.#wake();
    });
  }

  /** The next chunk, or null at the end of the body. */
  async read(): Promise<Uint8Array | null> {
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk) {
        this.#buffered -= chunk.byteLength;
        if (this.#paused && this.#buffered <= BODY_HIGH_WATER_MARK / 2) this.#resume();
        return chunk;
      }
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      if (this.#paused) this.#resume();
      await new Promise<void>((resolve) => (this.#waiting = resolve));
    }
  }

  async readAll(): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    for (let chunk = await this.read(); chunk; chunk = await this.read()) chunks.push(chunk);
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }

  /** Drops what is queued and whatever else arrives. Call before the response ends: uWS forbids resume() after. */
  discard(): void {
    this.#discarding = true;
    this.#chunks = [];
    this.#buffered = 0;
    if (this.#paused) this.#resume();
  }

  /** Reads on, whatever is queued (see the class comment). */
  unpause(): void {
    if (this.#paused) this.#resume();
  }

  fail(error: Error): void {
    if (this.#ended) return;
    this.#error = error;
    this.#paused = false; // the response is gone: never touch it again
    this.#wake();
  }

  #resume(): void {
    this.#paused = false;
    this.res.resume();
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.();
  }
}
