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
type HeadersInit = ConstructorParameters<typeof Headers>[0];
type BodyInit = ConstructorParameters<typeof Response>[0];
type HeadersSource = HeadersInit | Record<string, string | number | readonly string[]> | undefined;

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

class ChaussetteResponse {
  #body: KeptBody;
  #status: number;
  #statusText: string;
  #headersSource: HeadersSource;
  #headers: Headers | undefined;
  #native: Response | undefined;

  constructor(body?: BodyInit, init?: ResponseInit) {
    if (!keepable(body)) {
      // Streams, blobs, form data…: exactly what Node does, through a real Response.
      this.#native = new NativeResponse(body, init);
      this.#body = null;
      this.#status = this.#native.status;
      this.#statusText = this.#native.statusText;
      return;
    }
    const status = init?.status ?? 200;
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(`init["status"] must be in the range of 200 to 599, inclusive.`);
    }
    if (body != null && NULL_BODY_STATUS.has(status)) {
      throw new TypeError('Response constructor: Invalid response status code ' + status);
    }
    this.#body = body ?? null;
    this.#status = status;
    this.#statusText = init?.statusText ?? '';
    this.#headersSource = init?.headers as HeadersSource;
  }

  static json(data: unknown, init?: ResponseInit): Response {
    const headers = new Headers(init?.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Value is not JSON serializable');
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
    return this.#native?.statusText ?? this.#statusText;
  }
  get ok(): boolean {
    return this.#status >= 200 && this.#status <= 299;
  }
  get headers(): Headers {
    if (this.#native) return this.#native.headers;
    if (this.#headers === undefined) {
      this.#headers = new Headers(this.#headersSource as HeadersInit | undefined);
      if (typeof this.#body === 'string' && !this.#headers.has('content-type')) {
        this.#headers.set('content-type', 'text/plain;charset=UTF-8');
      }
    }
    return this.#headers;
  }

  /** The real Response, made once, when something beyond status, headers and a kept body is needed. */
  get [native](): Response {
    this.#native ??= new NativeResponse(this.#body, {
      status: this.#status,
      statusText: this.#statusText,
      headers: this.headers,
    });
    return this.#native;
  }

  /** Status, headers and a kept body, or undefined when the body is a stream or was touched. */
  toParts(): ResponseParts | undefined {
    if (this.#native) return undefined;
    const headers: string[] = [];
    let hasContentType = false;
    let hasContentLength = false;
    const add = (name: string, value: unknown) => {
      headers.push(name, String(value));
      if (name.length === 12 && name.toLowerCase() === 'content-type') hasContentType = true;
      else if (name.length === 14 && name.toLowerCase() === 'content-length') hasContentLength = true;
    };
    const source = this.#headers ?? this.#headersSource;
    if (source instanceof Headers) {
      for (const [name, value] of source) add(name, value);
    } else if (Array.isArray(source)) {
      for (const [name, value] of source as [string, string][]) add(name, value);
    } else if (source) {
      for (const name of Object.keys(source)) {
        const value = (source as Record<string, unknown>)[name];
        if (Array.isArray(value)) for (const item of value) add(name, item);
        else add(name, value);
      }
    }
    if (typeof this.#body === 'string' && !hasContentType) headers.push('content-type', 'text/plain;charset=UTF-8');
    return { status: this.#status, statusText: this.#statusText, headers, hasContentLength, body: this.#body };
  }
}

// Everything else a Response has (body, bodyUsed, clone(), text(), json(), arrayBuffer(), blob()…) is the real one's.
forwardMissingMembers(ChaussetteResponse, NativeResponse, new NativeResponse(null), (light) => (light as ChaussetteResponse)[native]);
// `x instanceof Response` holds for ours and for Node's own (from fetch()), whichever Response is global.
Object.defineProperty(ChaussetteResponse, Symbol.hasInstance, {
  value: (value: unknown) => value instanceof NativeResponse,
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
