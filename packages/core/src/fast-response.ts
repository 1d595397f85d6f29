// On Node 20, `new Response('text')` costs more than the rest of a hello-world request: undici builds a
// web ReadableStream for every body, and each one is made transferable. Fetch apps mostly answer with a
// string or bytes that nobody reads back, so chaussette puts a Response in the global scope that keeps
// such a body as it is, and becomes a real undici Response the moment anything else is asked of it.
// A ReadableStream body is kept too, and handed to the backend as it is (see streamedResponseParts()).
// Set CHAUSSETTE_NATIVE_RESPONSE=1 to keep Node's own Response.

import { Readable } from 'node:stream';
import { copyBytes, recycleBody } from './body-pool.js';
import { forwardMissingMembers } from './forward-members.js';

// Node's own Response, read on first use: reading the global loads undici, which a process serving no
// fetch app (a Fastify plugin, a node listener) should not pay for.
let NativeResponse: typeof Response;
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

function keepable(body: unknown): body is KeptBody | ArrayBuffer | ArrayBufferView | undefined {
  return body === null || body === undefined || typeof body === 'string' || body instanceof ArrayBuffer || ArrayBuffer.isView(body);
}

/** A copy of the bytes, as undici takes them (a later change by the app does not reach the client). */
function copyOf(body: ArrayBuffer | ArrayBufferView): Uint8Array {
  return copyBytes(body instanceof ArrayBuffer ? new Uint8Array(body) : new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HTTP_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;
const isHttpWhitespace = (code: number) => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
// An app sends the same few header names over and over: each is checked and lowercased once.
const checkedNames = new Map<string, string>();

function checkedName(name: string): string {
  if (!TOKEN.test(name)) throw new TypeError(`Headers.append: "${name}" is an invalid header name.`);
  const lower = name.toLowerCase();
  if (checkedNames.size < 256) checkedNames.set(name, lower);
  return lower;
}

/** NUL, CR and LF, which no header value may hold (a loop: cheaper than a regular expression on short values). */
function hasForbiddenChar(value: string): boolean {
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code === 0x0a || code === 0x0d || code === 0) return true;
  }
  return false;
}

/**
 * The common case, headers as a plain object of strings, checked and copied as Headers would (names
 * lowercased, values trimmed, the same TypeErrors) but into a flat list. Anything else (a Headers
 * object, pairs, repeated names, non-string values) returns undefined: Headers handles it.
 */
function headerList(init: unknown): string[] | undefined {
  if (init === undefined || init === null) return [];
  // A plain object (the constructor, not Object.getPrototypeOf(), which is a runtime call here).
  if (typeof init !== 'object' || (init as object).constructor !== Object) return undefined;
  const names = Object.keys(init);
  const list: string[] = new Array(names.length * 2);
  for (let at = 0; at < names.length; at++) {
    const name = names[at]!;
    const value = (init as Record<string, unknown>)[name];
    if (typeof value !== 'string') return undefined;
    const lower = checkedNames.get(name) ?? checkedName(name);
    const trimmed = isHttpWhitespace(value.charCodeAt(0)) || isHttpWhitespace(value.charCodeAt(value.length - 1)) ? value.replace(HTTP_WHITESPACE, '') : value;
    if (hasForbiddenChar(trimmed)) throw new TypeError(`Headers.append: "${value}" is an invalid header value.`);
    for (let index = 0; index < 2 * at; index += 2) if (list[index] === lower) return undefined;
    list[2 * at] = lower;
    list[2 * at + 1] = trimmed;
  }
  return list;
}

/** WebIDL's `unsigned short` conversion, as undici applies it to a status. */
function toUnsignedShort(value: unknown): number {
  const number = Math.trunc(Number(value));
  return Number.isFinite(number) ? ((number % 65536) + 65536) % 65536 : 0;
}

const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

class ChaussetteResponse {
  #body: KeptBody;
  /** A stream body, kept until a backend takes it (takeStream()) or the real Response exists. */
  #stream: ReadableStream<Uint8Array> | undefined;
  #status: number;
  #statusText: string;
  /** The headers: a Headers object once anyone asks for one, until then a checked flat list. */
  #headers: Headers | string[];
  #native: Response | undefined;
  /** The kept body went to a backend (toParts()): the response is used, as undici's is once served. */
  #sent = false;

  constructor(body?: BodyInit, init?: ResponseInit) {
    const isStream = body instanceof ReadableStream;
    if (!isStream && !keepable(body)) {
      // Blobs, form data, URLSearchParams…: exactly what Node does, through a real Response.
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
    if (statusText !== '' && !REASON_PHRASE.test(statusText)) throw new TypeError('Invalid statusText');
    const headers = headerList(init?.headers) ?? new Headers(init?.headers);
    // The null body statuses: 101 and 103 are out of the range above.
    if (body != null && (status === 204 || status === 205 || status === 304)) {
      throw new TypeError(`Response constructor: Invalid response status code ${status}`);
    }
    if (isStream) {
      if (body.locked || Readable.isDisturbed(body as unknown as NodeJS.ReadableStream)) throw new TypeError('Response body object should not be disturbed or locked');
      this.#stream = body;
      this.#body = null;
    } else {
      this.#body = typeof body === 'string' ? body : body == null ? null : copyOf(body);
    }
    if (typeof body === 'string') {
      if (Array.isArray(headers)) {
        if (!headers.includes('content-type')) headers.push('content-type', 'text/plain;charset=UTF-8');
      } else if (!headers.has('content-type')) {
        headers.set('content-type', 'text/plain;charset=UTF-8');
      }
    }
    this.#headers = headers;
    this.#status = status;
    this.#statusText = statusText;
  }

  /**
   * One of these and not of a subclass (whose members may differ). A brand check and the constructor:
   * Object.getPrototypeOf() is a runtime call here.
   */
  static isExactly(value: unknown): value is ChaussetteResponse {
    return typeof value === 'object' && value !== null && #sent in value && value.constructor === ChaussetteResponse;
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
    if (this.#native) return this.#native.headers;
    if (Array.isArray(this.#headers)) {
      const list = this.#headers;
      this.#headers = new Headers();
      for (let index = 0; index < list.length; index += 2) this.#headers.append(list[index]!, list[index + 1]!);
    }
    return this.#headers;
  }
  /** Nothing reads a kept body but the server: unused until a backend took it, or the real Response exists. */
  get bodyUsed(): boolean {
    return this.#sent || (this.#native?.bodyUsed ?? false);
  }

  /** The real Response, made once, when something beyond status, headers and a kept body is needed. */
  get [native](): Response {
    if (this.#native === undefined) {
      this.#native = new NativeResponse(this.#sent ? new Uint8Array(0) : (this.#stream ?? this.#body), {
        status: this.#status,
        statusText: this.#statusText,
        headers: this.headers,
      });
      if (this.#sent) void this.#native.arrayBuffer();
    }
    return this.#native;
  }

  /** Status, headers and the kept stream, which the caller takes (the response is used from then on), or undefined. */
  takeStream(): StreamedResponseParts | undefined {
    const stream = this.#stream;
    if (this.#native || this.#sent || !stream) return undefined;
    this.#sent = true;
    this.#stream = undefined;
    const headers = this.#flatHeaders();
    return { status: this.#status, statusText: this.#statusText, headers, hasContentLength: hasContentLength(headers), stream };
  }

  /**
   * Status, headers and the kept body, which the caller takes (the response is used from then on), or
   * undefined when the body is a stream, or was touched or taken.
   */
  toParts(): ResponseParts | undefined {
    if (this.#native || this.#sent || this.#stream) return undefined;
    const body = this.#body;
    if (body !== null) {
      this.#sent = true;
      this.#body = null;
    }
    const headers = this.#flatHeaders();
    return { status: this.#status, statusText: this.#statusText, headers, hasContentLength: hasContentLength(headers), body };
  }

  /** A copy of the headers as a flat list, for the backend to take. */
  #flatHeaders(): string[] {
    let headers: string[];
    if (Array.isArray(this.#headers)) {
      headers = this.#headers.slice();
    } else {
      headers = [];
      for (const [name, value] of this.#headers) headers.push(name, value);
    }
    return headers;
  }
}

/** ResponseParts with the body as a stream. */
export type StreamedResponseParts = Omit<ResponseParts, 'body'> & { stream: ReadableStream<Uint8Array> };

/** Whether a flat `[name, value…]` list with lowercase names has a Content-Length. */
export function hasContentLength(headers: readonly string[]): boolean {
  for (let index = 0; index < headers.length; index += 2) if (headers[index] === 'content-length') return true;
  return false;
}

let wired = false;
/** Makes ChaussetteResponse stand in for Node's Response; once, on the first installFastResponse(). */
function wire(): void {
  if (wired) return;
  wired = true;
  NativeResponse = globalThis.Response;
  // Everything else a Response has (body, bodyUsed, clone(), text(), json(), arrayBuffer(), blob()…) is the real one's.
  forwardMissingMembers(ChaussetteResponse, NativeResponse, (light) => (light as ChaussetteResponse)[native]);
  // `x instanceof Response` holds for ours and for Node's own (from fetch()), whichever Response is global.
  Object.defineProperty(ChaussetteResponse, Symbol.hasInstance, {
    value(this: unknown, value: unknown): boolean {
      // Only for Response itself: a subclass keeps the usual prototype check.
      return this === ChaussetteResponse ? value instanceof NativeResponse : Function.prototype[Symbol.hasInstance].call(this, value);
    },
  });
  Object.defineProperty(ChaussetteResponse, 'name', { value: 'Response' });
}

/**
 * Makes `globalThis.Response` chaussette's (see the top of this file), unless
 * CHAUSSETTE_NATIVE_RESPONSE=1. Backends that serve fetch apps call it; calling it again does nothing.
 */
export function installFastResponse(env: NodeJS.ProcessEnv = process.env): void {
  if (env.CHAUSSETTE_NATIVE_RESPONSE === '1' || globalThis.Response === (ChaussetteResponse as unknown)) return;
  wire();
  globalThis.Response = ChaussetteResponse as unknown as typeof Response;
}

/**
 * The parts of a response made by chaussette's Response, or undefined for any other (stream it). The
 * caller takes the body: once it is sent, `recycleBody()` lets its buffer serve another response.
 */
export function responseParts(response: Response | undefined): ResponseParts | undefined {
  return ours(response)?.toParts();
}

/** The response as chaussette's own (not a subclass, not Node's), or undefined. */
function ours(response: Response | undefined): ChaussetteResponse | undefined {
  return ChaussetteResponse.isExactly(response) ? response : undefined;
}

/**
 * The parts of a response that chaussette's Response made from a ReadableStream, or undefined for any
 * other. The caller takes the stream, instead of reading `response.body` (which would build Node's
 * Response around it first): call it only to send the response.
 */
export function streamedResponseParts(response: Response | undefined): StreamedResponseParts | undefined {
  return ours(response)?.takeStream();
}

/** Lets go of a Response that will not be sent (the client left, or the request became a WebSocket). */
export function discardResponse(response: Response | undefined): void {
  const kept = responseParts(response);
  if (kept) recycleBody(kept.body);
  else if (response instanceof Response) void response.body?.cancel().catch(() => {});
}
