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
    // Once per subclass: `request.constructor` is the global Request, as on a real one.
    if (new.target.prototype.constructor !== PublicRequest) adopt(new.target);
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

  /** What `new URL()` makes of the target and the Host header (an empty one means none). */
  get url(): string {
    if (this.#url === undefined) this.#url = requestUrl(this.isEncrypted() ? 'https' : 'http', this.hostHeader() || this.#origin, this.target(), this.#origin);
    return this.#url;
  }

  /** The same object before and after the real Request is built; the real one's headers follow it. */
  get headers(): Headers {
    if (this.#headers === undefined) this.#headers = this.#real ? this.#real.headers : (new RequestHeaders!(this.headerList()) as unknown as Headers);
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
      const headers = this.headers;
      const real = new NativeRequest!(this.url, {
        method: this.method,
        headers,
        signal: this.signal,
        // A body already read through text()/json()/arrayBuffer() stays used on the real one, below.
        body: this.hasBody() ? (this.#bodyUsed ? '' : this.bodyStream()) : null,
        duplex: 'half', // needed by Node for a streamed request body
      } as RequestInit & { duplex: 'half' });
      if (this.#bodyUsed) void real.arrayBuffer();
      if (headers instanceof RequestHeaders!) RequestHeaders!.mirror(headers, real.headers);
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

// 1 for each ASCII character that new URL() leaves as it is in a path and a query: not a control, space,
// `"`, `#`, `'`, `<`, `>`, `\` (a `/` to it), `^`, `` ` ``, `{` or `}`.
const PLAIN = new Uint8Array(128);
for (const character of "!$%&()*+,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]_abcdefghijklmnopqrstuvwxyz|~") PLAIN[character.charCodeAt(0)] = 1;
const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;

/**
 * An origin-form target that new URL() leaves as it is: plain characters, and no `/.` or `%2e` that could
 * make a dot segment. One pass, cheaper than a regular expression on the short paths most requests have.
 */
function isPlainTarget(target: string): boolean {
  for (let index = 1; index < target.length; index++) {
    const code = target.charCodeAt(index);
    if (code > 0x7f || PLAIN[code] === 0) return false;
    if (code === DOT ? target.charCodeAt(index - 1) === SLASH : code === PERCENT && target.charCodeAt(index + 1) === 0x32 && (target.charCodeAt(index + 2) | 0x20) === 0x65) return false;
  }
  return true;
}

const ABSOLUTE_FORM = /^https?:\/\//i;

/**
 * The URL of a request, as `new URL()` makes it of the target and the Host: dot segments removed, the
 * host in lowercase without the default port, percent-encoded as the WHATWG URL standard says. The
 * common case (a plain path, the Host of the request before) costs a pass over the path and a string
 * comparison. `fallbackHost` stands for a Host that new URL() refuses. An absolute-form target keeps its
 * own host (RFC 9112 §3.2.2); one that new URL() refuses is kept as it came.
 */
export function requestUrl(scheme: 'http' | 'https', host: string, target: string, fallbackHost = host): string {
  if (target.charCodeAt(0) !== SLASH) {
    if (ABSOLUTE_FORM.test(target)) return URL.parse(target)?.href ?? target;
    target = `/${target}`; // asterisk-form (`OPTIONS *`) and authority-form
  }
  const origin = originOf(scheme, host) ?? originOf(scheme, fallbackHost) ?? `${scheme}://localhost`;
  return isPlainTarget(target) ? origin + target : new URL(origin + target).href;
}

// The origins of the Hosts seen lately, by scheme: clients of one server mostly send the same few, and
// most requests the Host of the one before.
const ORIGINS = { http: new Map<string, string>(), https: new Map<string, string>() };
const MAX_ORIGINS = 256;
let lastHost = '';
let lastScheme = '';
let lastOrigin = '';

/** `scheme://host[:port]` as new URL() writes it, or undefined when it refuses the host or reads more into it. */
function originOf(scheme: 'http' | 'https', host: string): string | undefined {
  if (host === lastHost && scheme === lastScheme) return lastOrigin || undefined;
  const known = ORIGINS[scheme];
  let origin = known.get(host);
  if (origin === undefined) {
    const url = URL.parse(`${scheme}://${host}`);
    origin = url && url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password ? url.origin : '';
    if (known.size >= MAX_ORIGINS) known.clear();
    known.set(host, origin);
  }
  lastHost = host;
  lastScheme = scheme;
  lastOrigin = origin;
  return origin || undefined;
}

let wired = false;
/** Everything else (body, clone(), formData()…), from the real Request. */
function wire(): void {
  acceptLazyRequests();
  // On first use, not at import: reading the global Request loads undici.
  forwardMissingMembers(LazyRequest, NativeRequest!, (light) => (light as LazyRequest)[realRequest]);
  RequestHeaders = requestHeadersClass();
  wired = true;
}

function adopt(Subclass: { prototype: object }): void {
  if (!wired) wire();
  Object.defineProperty(Subclass.prototype, 'constructor', { value: PublicRequest, writable: true, configurable: true });
}

type RequestHeadersClass = ReturnType<typeof requestHeadersClass>;
let RequestHeaders: RequestHeadersClass | undefined;

/**
 * Headers made from the engine's flat list that, once mirror()ed to the real Request's, make each change
 * there too: the two lists start equal and see the same calls. A class made on first use (see wire()).
 */
function requestHeadersClass() {
  // Typed with its writes as methods, which a subclass may override (the DOM types declare them as fields).
  const WritableHeaders = Headers as unknown as new () => { append(name: string, value: string): void; set(name: string, value: string): void; delete(name: string): void };
  const Class = class RequestHeaders extends WritableHeaders {
    #mirror: Headers | undefined;

    static mirror(headers: RequestHeaders, real: Headers): void {
      headers.#mirror = real;
    }

    constructor(list: readonly string[]) {
      super();
      for (let index = 0; index < list.length; index += 2) super.append(list[index]!, list[index + 1]!);
    }

    override append(name: string, value: string): void {
      super.append(name, value);
      this.#mirror?.append(name, value);
    }

    override set(name: string, value: string): void {
      super.set(name, value);
      this.#mirror?.set(name, value);
    }

    override delete(name: string): void {
      super.delete(name);
      this.#mirror?.delete(name);
    }
  };
  Object.defineProperty(Class.prototype, 'constructor', { value: Headers, writable: true, configurable: true });
  return Class;
}

let NativeRequest: typeof Request | undefined;
/** The global Request once acceptLazyRequests() replaced it: what `request.constructor` is. */
let PublicRequest: typeof Request | undefined;
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
  const Native = globalThis.Request;
  NativeRequest = Native;
  const unwrap = (args: unknown[]) => (args[0] instanceof LazyRequest ? [args[0][realRequest], ...args.slice(1)] : args);
  // Proxies, not a subclass and a wrapper: the name, length, prototype and `instanceof` stay undici's
  // own, as the WebIDL interface tests check them (a LazyRequest's prototype inherits from its too).
  PublicRequest = new Proxy(Native, { construct: (target, args, newTarget) => Reflect.construct(target, unwrap(args), newTarget) });
  Object.defineProperty(Native.prototype, 'constructor', { value: PublicRequest, writable: true, configurable: true });
  globalThis.Request = PublicRequest;
  globalThis.fetch = new Proxy(globalThis.fetch, { apply: (target, thisArg, args) => Reflect.apply(target, thisArg, unwrap(args)) });
}
