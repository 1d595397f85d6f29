import type { IncomingMessage, ServerResponse } from 'node:http';
import { forwardMissingMembers } from '@chaussette/core';
import type { PeerCredentials } from './peer-credentials.js';

const utf8 = new TextDecoder();
const realRequest = Symbol('realRequest');
const bodyUnread = Symbol('bodyUnread');

/**
 * A WHATWG Request that builds only what the app reads, over whatever a server engine gives: `method`,
 * `url`, `headers`, `ip`, `signal` and the `text()`/`json()`/`arrayBuffer()` body readers work straight
 * on the engine's request; anything else creates the real Request once and delegates to it.
 * `instanceof Request` holds. A backend subclasses it for its engine (`@chaussette/backend-node/bridge`).
 */
export abstract class LazyRequest {
  readonly #origin: string;
  #url: string | undefined;
  #headers: Headers | undefined;
  #controller: AbortController | undefined;
  #real: Request | undefined;
  #bodyUsed = false;

  /** `origin`: the host for the URL when the request has no Host header. */
  constructor(origin: string) {
    this.#origin = origin;
    if (!wired) wire();
  }

  abstract get method(): string;
  /** The client's address (after --proxy-headers), as srvx's requests have it. */
  abstract get ip(): string | undefined;
  /** The request target: a path and query, or an absolute URL. */
  protected abstract target(): string;
  protected abstract hostHeader(): string | undefined;
  /** Flat `[name, value, name, value…]`. */
  protected abstract headerList(): readonly string[];
  /** Calls `abort` when the client goes away before the response is complete. */
  protected abstract watchAbort(abort: () => void): void;
  protected abstract hasBody(): boolean;
  /** The whole body, in bytes no one else holds (called once, and only when hasBody()). */
  protected abstract readBody(): Promise<Uint8Array>;
  /** The body as a stream that reads from the engine as the app pulls. */
  protected abstract bodyStream(): ReadableStream<Uint8Array>;

  /** The connection is TLS: the URL's scheme is https. */
  protected isEncrypted(): boolean {
    return false;
  }

  get url(): string {
    if (this.#url === undefined) {
      const target = this.target();
      // An absolute-form target (`GET http://host/path`) is already a URL. The backend has refused a
      // malformed Host; an empty one means none.
      const host = this.hostHeader() || this.#origin;
      const scheme = this.isEncrypted() ? 'https' : 'http';
      this.#url = target.startsWith('/') ? `${scheme}://${host}${target}` : /^https?:\/\//i.test(target) ? target : `${scheme}://${host}/${target}`;
    }
    return this.#url;
  }

  get headers(): Headers {
    if (this.#real) return this.#real.headers;
    if (this.#headers === undefined) {
      const headers = new Headers();
      const list = this.headerList();
      for (let index = 0; index < list.length; index += 2) headers.append(list[index]!, list[index + 1]!);
      this.#headers = headers;
    }
    return this.#headers;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.watchAbort(() => controller.abort());
      this.#controller = controller;
    }
    return this.#controller.signal;
  }

  get bodyUsed(): boolean {
    return this.#bodyUsed || (this.#real?.bodyUsed ?? false);
  }

  text(): Promise<string> {
    if (this.#real) return this.#real.text();
    return this.#readOnce().then((bytes) => utf8.decode(bytes));
  }

  json(): Promise<unknown> {
    if (this.#real) return this.#real.json();
    return this.text().then((text) => JSON.parse(text));
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#real) return this.#real.arrayBuffer();
    return this.#readOnce().then((bytes) =>
      // Bytes that fill their own buffer (any body over 4 KiB from Buffer.concat) need no second copy.
      bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer),
    );
  }

  async #readOnce(): Promise<Uint8Array> {
    if (!this.hasBody()) return new Uint8Array(0); // a null body reads as empty, and stays unused
    if (this.#bodyUsed) throw new TypeError('Body is unusable: Body has already been read');
    this.#bodyUsed = true;
    return this.readBody();
  }

  /** See bodyUntouched(). */
  get [bodyUnread](): boolean {
    if (this.#bodyUsed) return false;
    const real = this.#real;
    if (real === undefined) return true;
    if (real.bodyUsed) return false;
    return real.body === null || !real.body.locked;
  }

  /** The real Request, made on first use of anything the fast paths above do not cover. */
  get [realRequest](): Request {
    if (this.#real === undefined) {
      const real = new Request(this.url, {
        method: this.method,
        headers: this.headers,
        signal: this.signal,
        // A body already read through text()/json()/arrayBuffer() stays used on the real one, below.
        body: this.hasBody() ? (this.#bodyUsed ? '' : this.bodyStream()) : null,
        duplex: 'half', // needed by Node for a streamed request body
      } as RequestInit & { duplex: 'half' });
      if (this.#bodyUsed) void real.arrayBuffer();
      this.#real = real;
    }
    return this.#real;
  }
}

/**
 * The app has not begun to read the request's body: no text(), json() or arrayBuffer(), and its stream
 * (if the app asked for `request.body`) neither read nor locked. False for a Request that is no LazyRequest.
 */
export function bodyUntouched(request: Request): boolean {
  return request instanceof LazyRequest && (request as unknown as LazyRequest)[bodyUnread];
}

let wired = false;
/** Everything else (body, clone(), formData()…, and the state undici reads in `new Request(request)`), from the real Request. */
function wire(): void {
  // On first use, not at import: reading the global Request loads undici.
  forwardMissingMembers(LazyRequest, Request, new Request('http://localhost/'), (light) => (light as LazyRequest)[realRequest]);
  wired = true;
}

/** A LazyRequest over a node IncomingMessage. */
class NodeBackedRequest extends LazyRequest {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;

  constructor(req: IncomingMessage, res: ServerResponse, origin: string) {
    super(origin);
    this.#req = req;
    this.#res = res;
  }

  get method(): string {
    return this.#req.method ?? 'GET';
  }

  get ip(): string | undefined {
    return this.#req.socket.remoteAddress;
  }

  /** With --mount: the prefix the app is mounted at (its request.url is without it). */
  get baseUrl(): string | undefined {
    return (this.#req as { baseUrl?: string }).baseUrl;
  }

  /** With --peercreds, on a unix socket: the client's pid, uid and gid. */
  get peerCredentials(): PeerCredentials | undefined {
    return (this.#req as { peerCredentials?: PeerCredentials }).peerCredentials;
  }

  protected target(): string {
    return this.#req.url ?? '/';
  }

  protected override isEncrypted(): boolean {
    return (this.#req.socket as { encrypted?: boolean }).encrypted === true;
  }

  protected hostHeader(): string | undefined {
    return this.#req.headers.host;
  }

  protected headerList(): readonly string[] {
    return this.#req.rawHeaders;
  }

  protected watchAbort(abort: () => void): void {
    const res = this.#res;
    if (res.destroyed && !res.writableFinished) abort();
    else res.once('close', () => res.writableFinished || abort());
  }

  protected hasBody(): boolean {
    return this.method !== 'GET' && this.method !== 'HEAD';
  }

  protected readBody(): Promise<Uint8Array> {
    // Listeners: cheaper than `for await`, whose iterator adds a promise and a 'readable' round per chunk.
    const req = this.#req;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.once('end', () => resolve(Buffer.concat(chunks)));
      req.once('error', reject);
      req.once('close', () => req.complete || reject(new Error('The client closed the connection before sending the whole body')));
    });
  }

  protected bodyStream(): ReadableStream<Uint8Array> {
    return bodyStream(this.#req);
  }
}

/**
 * The request body as a web stream that reads the node request only when the app pulls, so that a body
 * the app never reads is discarded by node:http as usual, and the keep-alive connection goes on.
 */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      pull: (controller) =>
        new Promise<void>((resolve, reject) => {
          const settle = (error?: Error) => {
            req.off('readable', read);
            req.off('end', end);
            req.off('error', settle);
            if (error) reject(error);
            else resolve();
          };
          const end = () => {
            controller.close();
            settle();
          };
          const read = () => {
            const chunk = req.read() as Buffer | null;
            if (chunk !== null) {
              controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
              settle();
            } else if (req.readableEnded) {
              end();
            }
          };
          req.on('readable', read);
          req.on('end', end);
          req.on('error', settle);
          read();
        }),
      cancel: () => void req.resume(), // discard the rest
    },
    { highWaterMark: 0 },
  );
}

export function createRequest(req: IncomingMessage, res: ServerResponse, origin: string): Request {
  return new NodeBackedRequest(req, res, origin) as unknown as Request;
}
