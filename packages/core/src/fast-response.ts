// On Node 20, `new Response('text')` costs more than the rest of a hello-world request: undici builds a
// web ReadableStream for every body, and each one is made transferable. Fetch apps mostly answer with a
// string or bytes that nobody reads back, so chaussette puts a Response in the global scope that keeps
// such a body as it is, and becomes a real undici Response the moment anything else is asked of it.
// Set CHAUSSETTE_NATIVE_RESPONSE=1 to keep Node's own Response.

import { forwardMissingMembers } from './forward-members.js';

const NativeResponse = globalThis.Response;
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
const native = Symbol('native');

type KeptBody = string | Uint8Array | null;
type BodyInit = ConstructorParameters<typeof Response>[0];

/** What a backend needs to write a response without reading a stream. */
export interface ResponseParts {
  status: number;
  statusText: string;
  /** Flat `[name, value, name, value…]`, each `set-cookie` kept apart. */
  headers: string[];
  /** Whether the app set content-length itself. */
  hasContentLength: boolean;
  body: KeptBody;
}

function keepable(body: unknown): body is KeptBody | undefined {
  return body === null || body === undefined || typeof body === 'string' || body instanceof Uint8Array;
}

/** WebIDL's `unsigned short` conversion, as undici applies it to a status. */
function toUnsignedShort(value: unknown): number {
  const number = Math.trunc(Number(value));
  return Number.isFinite(number) ? ((number % 65536) + 65536) % 65536 : 0;
}

const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

class ChaussetteResponse {
  #body: KeptBody;
  #status: number;
  #statusText: string;
  #headers: Headers;
  #native: Response | undefined;

  constructor(body?: BodyInit, init?: ResponseInit) {
    if (!keepable(body)) {
      // Streams, blobs, form data…: exactly what Node does, through a real Response.
      this.#native = new NativeResponse(body, init);
      this.#body = null;
      this.#status = this.#native.status;
      this.#statusText = this.#native.statusText;
      this.#headers = this.#native.headers;
      return;
    }
    // The same checks, in the same order, as undici's constructor; the headers and bytes are copied, as there.
    const status = init?.status === undefined ? 200 : toUnsignedShort(init.status);
    if (status < 200 || status > 599) {
      throw new RangeError('init["status"] must be in the range of 200 to 599, inclusive.');
    }
    const statusText = init?.statusText === undefined ? '' : String(init.statusText);
    if (!REASON_PHRASE.test(statusText)) throw new TypeError('Invalid statusText');
    this.#headers = new Headers(init?.headers);
    if (body != null && NULL_BODY_STATUS.has(status)) {
      throw new TypeError(`Response constructor: Invalid response status code ${status}`);
    }
    this.#body = body instanceof Uint8Array ? body.slice() : (body ?? null);
    if (typeof body === 'string' && !this.#headers.has('content-type')) {
      this.#headers.set('content-type', 'text/plain;charset=UTF-8');
    }
    this.#status = status;
    this.#statusText = statusText;
  }

  static json(data: unknown, init?: ResponseInit): Response {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Value is not JSON serializable');
    const headers = new Headers(init?.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new ChaussetteResponse(text, { ...init, headers }) as unknown as Response;
  }

  static error(): Response {
    return NativeResponse.error();
  }

  static redirect(url: string | URL, status?: number): Response {
    return NativeResponse.redirect(url, status as Parameters<typeof Response.redirect>[1]);
  }

  get status(): number {
    return this.#status;
  }
  get statusText(): string {
    return this.#statusText;
  }
  get ok(): boolean {
    return this.#status >= 200 && this.#status <= 299;
  }
  get headers(): Headers {
    return this.#native?.headers ?? this.#headers;
  }
  /** Nothing reads a kept body but the server: unused until the real Response exists. */
  get bodyUsed(): boolean {
    return this.#native?.bodyUsed ?? false;
  }

  /** The real Response, made once, when something beyond status, headers and a kept body is needed. */
  get [native](): Response {
    this.#native ??= new NativeResponse(this.#body, {
      status: this.#status,
      statusText: this.#statusText,
      headers: this.#headers,
    });
    return this.#native;
  }

  /** Status, headers and a kept body, or undefined when the body is a stream or was touched. */
  toParts(): ResponseParts | undefined {
    if (this.#native) return undefined;
    const headers: string[] = [];
    let hasContentLength = false;
    for (const [name, value] of this.#headers) {
      headers.push(name, value);
      if (name === 'content-length') hasContentLength = true;
    }
    return { status: this.#status, statusText: this.#statusText, headers, hasContentLength, body: this.#body };
  }
}

// Everything else a Response has (body, bodyUsed, clone(), text(), json(), arrayBuffer(), blob()…) is the real one's.
forwardMissingMembers(ChaussetteResponse, NativeResponse, new NativeResponse(null), (light) => (light as ChaussetteResponse)[native]);
// `x instanceof Response` holds for ours and for Node's own (from fetch()), whichever Response is global.
Object.defineProperty(ChaussetteResponse, Symbol.hasInstance, {
  value(this: unknown, value: unknown): boolean {
    // Only for Response itself: a subclass keeps the usual prototype check.
    return this === ChaussetteResponse ? value instanceof NativeResponse : Function.prototype[Symbol.hasInstance].call(this, value);
  },
});
Object.defineProperty(ChaussetteResponse, 'name', { value: 'Response' });

/**
 * Makes `globalThis.Response` chaussette's (see the top of this file), unless
 * CHAUSSETTE_NATIVE_RESPONSE=1. Backends that serve fetch apps call it; calling it again does nothing.
 */
export function installFastResponse(env: NodeJS.ProcessEnv = process.env): void {
  if (env.CHAUSSETTE_NATIVE_RESPONSE === '1' || globalThis.Response === (ChaussetteResponse as unknown)) return;
  globalThis.Response = ChaussetteResponse as unknown as typeof Response;
}

/** The parts of a response made by chaussette's Response, or undefined for any other (stream it). */
export function responseParts(response: Response): ResponseParts | undefined {
  return response instanceof Object && Object.getPrototypeOf(response) === ChaussetteResponse.prototype
    ? (response as unknown as ChaussetteResponse).toParts()
    : undefined;
}
