import { forwardMissingMembers } from './forward-members.js';

const utf8 = new TextDecoder();
const realRequest = Symbol('realRequest');
const bodyUnread = Symbol('bodyUnread');

/**
 * A WHATWG Request that builds only what the app reads, over whatever a server engine gives: `method`,
 * `url`, `headers`, `ip`, `signal` and the `text()`/`json()`/`arrayBuffer()` body readers work straight
 * on the engine's request; anything else creates the real Request once and delegates to it.
 * `instanceof Request` holds. A backend subclasses it for its engine: see fetch-layer.ts.
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
      const real = new NativeRequest!(this.url, {
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
/** Everything else (body, clone(), formData()…), from the real Request. */
function wire(): void {
  acceptLazyRequests();
  // On first use, not at import: reading the global Request loads undici.
  forwardMissingMembers(LazyRequest, NativeRequest!, (light) => (light as LazyRequest)[realRequest]);
  wired = true;
}

let NativeRequest: typeof Request | undefined;
type RequestInput = ConstructorParameters<typeof Request>[0];

/**
 * Makes the global `Request` constructor and `fetch()` take a LazyRequest as their input, as the proxy
 * pattern does (`fetch(request, { headers })`, `new Request(request, init)`): undici reads its Request's
 * state from private fields (Node 24 and later), which no other object has, so the real Request goes in
 * instead. `Request` stays the runtime's for everything else: `instanceof`, subclasses, its members.
 * Called before the app is imported, so that a class or a fetch the app keeps at import is this one.
 */
export function acceptLazyRequests(): void {
  if (NativeRequest) return;
  NativeRequest = globalThis.Request;
  const Native = NativeRequest;
  const nativeFetch = globalThis.fetch;
  const unwrap = (input: unknown) => (input instanceof LazyRequest ? input[realRequest] : input);
  const Request = class Request extends Native {
    constructor(input: RequestInput, init?: RequestInit) {
      super(unwrap(input) as RequestInput, init);
    }
  };
  // `x instanceof Request` holds for every Request, made here or by undici (fetch's, the framework's own).
  Object.defineProperty(Request, Symbol.hasInstance, {
    value(this: unknown, value: unknown): boolean {
      return this === Request ? value instanceof Native : Function.prototype[Symbol.hasInstance].call(this, value);
    },
  });
  const fetch = {
    fetch(input: RequestInput, init?: RequestInit): Promise<Response> {
      return nativeFetch(unwrap(input) as RequestInput, init);
    },
  }.fetch;
  globalThis.Request = Request as typeof globalThis.Request;
  globalThis.fetch = fetch;
}
