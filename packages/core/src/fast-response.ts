// On Node 20, `new Response('text')` costs more than the rest of a hello-world request: undici builds a
// web ReadableStream for every body, and each one is made transferable. Fetch apps mostly answer with a
// string or bytes that nobody reads back, so chaussette puts a Response in the global scope that keeps
// such a body as it is (a Blob too), and builds a real undici Response the moment anything else is asked
// of it. Every other body (a stream, form data, an async iterable) gets the real one at once. The class
// is a Response as WebIDL defines one (its members, their names and flags, its brand checks), and
// `instanceof Response` holds for undici's too. Set CHAUSSETTE_NATIVE_RESPONSE=1 to keep Node's own.

import { inspect } from 'node:util';
import { copyBytes, recycleBody } from './body-pool.js';
import { forwardMissingMembers } from './forward-members.js';

// Node's own Response, read on first use: reading the global loads undici, which a process serving no
// fetch app (a Fastify plugin, a node listener) should not pay for.
let NativeResponse: typeof globalThis.Response;
/** Makes a ChaussetteResponse around a real one: `new ChaussetteResponse(WRAP, real)`. */
const WRAP = Symbol('wrap');

type WholeBody = string | Uint8Array | null;
type KeptBody = WholeBody | Blob;
type BodyInit = ConstructorParameters<typeof globalThis.Response>[0];

/** What a backend needs to write a response without reading a stream. */
export interface ResponseParts {
  status: number;
  statusText: string;
  /** Flat `[name, value, name, value…]`, each `set-cookie` kept apart. */
  headers: string[];
  /** Whether the app set content-length itself (or, for a Blob body, chaussette did from its size). */
  hasContentLength: boolean;
  body: WholeBody;
}

/** ResponseParts with the body as a stream. */
export type StreamedResponseParts = Omit<ResponseParts, 'body'> & { stream: ReadableStream<Uint8Array> };

const TEXT = 'text/plain;charset=UTF-8';
const FORM = 'application/x-www-form-urlencoded;charset=UTF-8';
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

/** NUL, CR, LF, which no header value may hold, or a character beyond a byte (a loop: cheaper than a regular expression on short values). */
function hasForbiddenChar(value: string): boolean {
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code === 0x0a || code === 0x0d || code === 0 || code > 0xff) return true;
  }
  return false;
}

/**
 * The common case, headers as a plain object of strings, checked and copied as Headers would (names
 * lowercased, values trimmed) but into a flat list. Anything else (a Headers object, pairs, repeated
 * names, non-string values, a bad name or value) returns undefined: Headers handles it, errors included.
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
    const lower = checkedNames.get(name) ?? (TOKEN.test(name) ? checkedName(name) : undefined);
    if (lower === undefined) return undefined;
    const trimmed = isHttpWhitespace(value.charCodeAt(0)) || isHttpWhitespace(value.charCodeAt(value.length - 1)) ? value.replace(HTTP_WHITESPACE, '') : value;
    if (hasForbiddenChar(trimmed)) return undefined;
    for (let index = 0; index < 2 * at; index += 2) if (list[index] === lower) return undefined;
    list[2 * at] = lower;
    list[2 * at + 1] = trimmed;
  }
  return list;
}

/** WebIDL's `unsigned short` conversion, as undici applies it to a status (Number(): a BigInt passes there). */
function toUnsignedShort(value: unknown): number {
  const number = Math.trunc(Number(value));
  return Number.isFinite(number) ? ((number % 65536) + 65536) % 65536 : 0;
}

const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** A body kept as it is, with the Content-Type it implies; undefined for any other (a real Response takes it). */
function keptBody(body: unknown): [KeptBody, string | null] | undefined {
  if (typeof body === 'string') return [body, TEXT];
  if (body === null || body === undefined) return [null, null];
  if (body instanceof ArrayBuffer) return [copyBytes(new Uint8Array(body)), null];
  // Views of a SharedArrayBuffer (or of another realm's buffer) are the real Response's to judge.
  if (ArrayBuffer.isView(body) && body.buffer instanceof ArrayBuffer) return [copyBytes(new Uint8Array(body.buffer, body.byteOffset, body.byteLength)), null];
  if (body instanceof URLSearchParams) return [body.toString(), FORM];
  if (body instanceof Blob) return [body, body.type === '' ? null : body.type];
  return undefined;
}

/** Whether a flat `[name, value…]` list holds `name` (lowercase) among its names. */
function listHas(list: readonly string[], name: string): boolean {
  for (let index = 0; index < list.length; index += 2) if (list[index] === name) return true;
  return false;
}

// The Response's internals, for this module only (a member on the class would be visible to apps).
let isOurs: (value: unknown) => value is Response;
let realOf: (response: Response) => globalThis.Response;
let toParts: (response: Response) => ResponseParts | undefined;
let takeStream: (response: Response) => StreamedResponseParts | undefined;

class Response {
  #body: KeptBody = null;
  #status = 200;
  #statusText = '';
  /** The headers: a Headers object once anyone asks for one, until then a checked flat list. */
  #headers: Headers | string[] = [];
  /** The real Response: made at once for a body that is not kept, else when something needs it. */
  #native: globalThis.Response | undefined;
  /** The body went to a backend (toParts(), takeStream()): the response is used, as undici's is once served. */
  #sent = false;

  constructor(body: unknown = null, init: unknown = undefined) {
    if (body === WRAP) {
      if (init !== undefined) this.#adopt(init as globalThis.Response);
      return;
    }
    // Anything but undefined, null or an object: WebIDL's dictionary conversion throws.
    if (init !== undefined && init !== null && typeof init !== 'object' && typeof init !== 'function') {
      throw new TypeError("Response constructor: Expected init to be one of: Null, Undefined, Object.");
    }
    const kept = keptBody(body);
    if (kept === undefined) this.#adopt(new NativeResponse(body as BodyInit, init as ResponseInit));
    else this.#initialize(kept[0], kept[1], init as ResponseInit | null | undefined);
  }

  /**
   * Undici's "initialize a response", with the same checks in the same order: the init's members read
   * once each (headers, status, statusText: WebIDL's order), the headers and bytes copied.
   */
  #initialize(body: KeptBody, type: string | null, init: ResponseInit | null | undefined): void {
    const headersInit = init == null ? undefined : init.headers;
    const rawStatus = init == null ? undefined : init.status;
    const status = rawStatus === undefined ? 200 : toUnsignedShort(rawStatus);
    const rawStatusText = init == null ? undefined : init.statusText;
    const statusText = rawStatusText === undefined ? '' : String(rawStatusText);
    if (status < 200 || status > 599) throw new RangeError('init["status"] must be in the range of 200 to 599, inclusive.');
    if (statusText !== '' && !REASON_PHRASE.test(statusText)) throw new TypeError('Invalid statusText');
    const headers = headerList(headersInit) ?? new Headers(headersInit);
    // The null body statuses: 101 and 103 are out of the range above.
    if (body !== null && (status === 204 || status === 205 || status === 304)) {
      throw new TypeError(`Response constructor: Invalid response status code ${status}`);
    }
    if (type !== null) {
      if (Array.isArray(headers)) {
        if (!listHas(headers, 'content-type')) headers.push('content-type', type);
      } else if (!headers.has('content-type')) {
        headers.append('content-type', type);
      }
    }
    this.#body = body;
    this.#headers = headers;
    this.#status = status;
    this.#statusText = statusText;
  }

  #adopt(real: globalThis.Response): void {
    this.#native = real;
    this.#status = real.status;
    this.#statusText = real.statusText;
    this.#headers = real.headers;
  }

  static {
    isOurs = (value: unknown): value is Response => typeof value === 'object' && value !== null && #sent in value;
    realOf = (response) => response.#real();
    toParts = (response) => response.#toParts();
    takeStream = (response) => response.#takeStream();
  }

  static [Symbol.hasInstance](this: unknown, value: unknown): boolean {
    // Only for Response itself: a subclass keeps the usual prototype check.
    if (this !== Response) return Function.prototype[Symbol.hasInstance].call(this, value);
    // Node's own Responses (fetch()'s) too; and an object given this prototype without the constructor
    // (srvx's FastResponse, which h3 answers with), as for any class.
    return isOurs(value) || value instanceof NativeResponse || Function.prototype[Symbol.hasInstance].call(Response, value);
  }

  static json(data: unknown, init: unknown = undefined): Response {
    if (arguments.length < 1) throw new TypeError("Response.json: 1 argument required, but only 0 present.");
    if (init !== undefined && init !== null && typeof init !== 'object' && typeof init !== 'function') {
      throw new TypeError('Response.json: Expected init to be one of: Null, Undefined, Object.');
    }
    // A null init: undici 8 takes it, older ones throw reading it. Node's own says which.
    if (init === null) return new Response(WRAP, NativeResponse.json(data, null as unknown as ResponseInit));
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Value is not JSON serializable');
    const response = new Response(WRAP, undefined);
    response.#initialize(text, 'application/json', init as ResponseInit | undefined);
    return response;
  }

  static error(): Response {
    return new Response(WRAP, NativeResponse.error());
  }

  static redirect(...args: Parameters<typeof globalThis.Response.redirect>): Response {
    // The arguments as given: undici counts them.
    return new Response(WRAP, NativeResponse.redirect(...args));
  }

  get type(): globalThis.Response["type"] {
    if (!isOurs(this)) return nativeMember(this, 'type');
    return this.#native ? this.#native.type : 'default';
  }
  get url(): string {
    if (!isOurs(this)) return nativeMember(this, 'url');
    return this.#native ? this.#native.url : '';
  }
  get redirected(): boolean {
    if (!isOurs(this)) return nativeMember(this, 'redirected');
    return this.#native ? this.#native.redirected : false;
  }
  get status(): number {
    if (!isOurs(this)) return nativeMember(this, 'status');
    return this.#status;
  }
  get ok(): boolean {
    if (!isOurs(this)) return nativeMember(this, 'ok');
    return this.#status >= 200 && this.#status <= 299;
  }
  get statusText(): string {
    if (!isOurs(this)) return nativeMember(this, 'statusText');
    return this.#statusText;
  }
  get headers(): Headers {
    if (!isOurs(this)) return nativeMember(this, 'headers');
    if (Array.isArray(this.#headers)) {
      const list = this.#headers;
      this.#headers = new Headers();
      for (let index = 0; index < list.length; index += 2) this.#headers.append(list[index]!, list[index + 1]!);
    }
    return this.#headers;
  }
  /** A kept body is unused until a backend took it; a real one says for itself (a stream the app read is used). */
  get bodyUsed(): boolean {
    if (!isOurs(this)) return nativeMember(this, 'bodyUsed');
    return this.#sent || (this.#native?.bodyUsed ?? false);
  }

  clone(): Response {
    if (!isOurs(this)) return nativeMember(this, 'clone');
    if (this.#native === undefined && !this.#sent) {
      const copy = new Response(WRAP, undefined);
      copy.#body = this.#body instanceof Uint8Array ? new Uint8Array(this.#body) : this.#body;
      copy.#status = this.#status;
      copy.#statusText = this.#statusText;
      copy.#headers = Array.isArray(this.#headers) ? this.#headers.slice() : new Headers(this.#headers);
      return copy;
    }
    return new Response(WRAP, this.#real().clone());
  }

  /** The real Response, made once, when something beyond status, headers and a kept body is needed. */
  #real(): globalThis.Response {
    if (this.#native === undefined) {
      const list = Array.isArray(this.#headers) ? this.#headers : undefined;
      const headers = list ? Array.from({ length: list.length / 2 }, (_, index) => [list[2 * index]!, list[2 * index + 1]!] as [string, string]) : (this.#headers as Headers);
      this.#native = new NativeResponse(this.#sent ? new Uint8Array(0) : this.#body, { status: this.#status, statusText: this.#statusText, headers });
      if (this.#sent) void this.#native.arrayBuffer();
      // Headers nobody holds yet become the real one's; ones an app holds stay the app's, copied in below.
      if (list) this.#headers = this.#native.headers;
    }
    if (this.#headers !== this.#native.headers) copyHeaders(this.#headers as Headers, this.#native.headers);
    return this.#native;
  }

  /**
   * Status, headers and the whole body, which the caller takes (the response is used from then on), or
   * undefined when the body is not whole (a stream, a Blob), or was read or taken.
   */
  #toParts(): ResponseParts | undefined {
    if (this.#sent) return undefined;
    let body: WholeBody;
    if (this.#native !== undefined) {
      if (this.#native.body !== null) return undefined;
      body = null;
    } else {
      if (this.#body instanceof Blob) return undefined;
      body = this.#body;
    }
    if (body !== null) {
      this.#sent = true;
      this.#body = null;
    }
    const headers = this.#flatHeaders();
    return { status: this.#status, statusText: this.#statusText, headers, hasContentLength: hasContentLength(headers), body };
  }

  /** Status, headers and the body as a stream, which the caller takes (the response is used from then on), or undefined. */
  #takeStream(): StreamedResponseParts | undefined {
    if (this.#sent) return undefined;
    let stream: ReadableStream<Uint8Array>;
    const headers = this.#flatHeaders();
    if (this.#native === undefined) {
      if (!(this.#body instanceof Blob)) return undefined;
      stream = this.#body.stream();
      if (!hasContentLength(headers)) headers.push('content-length', String(this.#body.size));
      this.#body = null;
    } else {
      const body = this.#native.body;
      if (body === null || body.locked || this.#native.bodyUsed) return undefined;
      stream = body;
    }
    this.#sent = true;
    return { status: this.#status, statusText: this.#statusText, headers, hasContentLength: hasContentLength(headers), stream };
  }

  /** A copy of the headers as a flat list, for the backend to take. */
  #flatHeaders(): string[] {
    return Array.isArray(this.#headers) ? this.#headers.slice() : flatHeaderList(this.#headers);
  }
}

/** A member of Node's Response, on an object that is not ours: Node's own brand check decides. */
function nativeMember<T>(value: unknown, key: keyof globalThis.Response): T {
  const descriptor = Object.getOwnPropertyDescriptor(NativeResponse.prototype, key)!;
  return (descriptor.get ? descriptor.get.call(value) : (descriptor.value as () => T).call(value)) as T;
}

/** Makes `to` hold what `from` holds (the app changed the headers it held after the real Response was made). */
function copyHeaders(from: Headers, to: Headers): void {
  for (const name of [...to.keys()]) to.delete(name);
  for (const [name, value] of from) to.append(name, value);
}

/** Headers as a flat `[name, value…]` list, names lowercase, each `set-cookie` apart. */
export function flatHeaderList(headers: Headers): string[] {
  const list: string[] = [];
  for (const [name, value] of headers) list.push(name, value);
  return list;
}

/** Whether a flat `[name, value…]` list with lowercase names has a Content-Length. */
export function hasContentLength(headers: readonly string[]): boolean {
  return listHas(headers, 'content-length');
}

let wired = false;
/** Gives Response what WebIDL says an interface has, and the members it takes from Node's; once. */
function wire(): void {
  if (wired) return;
  wired = true;
  NativeResponse = globalThis.Response;
  const prototype = Response.prototype as unknown as Record<PropertyKey, unknown>;
  for (const key of Reflect.ownKeys(prototype)) {
    if (key !== 'constructor') Object.defineProperty(prototype, key, { enumerable: true });
  }
  // Everything else a Response has (body, text(), json(), arrayBuffer(), blob()…) is the real one's.
  forwardMissingMembers(Response, NativeResponse, (light) => realOf(light as Response), { isLight: isOurs, inherit: false });
  // Node's inspect reads the public members: the same function serves ours.
  Object.defineProperty(prototype, inspect.custom, Object.getOwnPropertyDescriptor(NativeResponse.prototype, inspect.custom)!);
  Object.defineProperty(prototype, Symbol.toStringTag, { value: 'Response', configurable: true });
  for (const key of ['error', 'json', 'redirect']) Object.defineProperty(Response, key, { enumerable: true });
  Object.defineProperty(Response.redirect, 'length', { value: 1 });
  Object.defineProperty(Response.json, 'length', { value: 1 });
}

/**
 * Makes `globalThis.Response` chaussette's (see the top of this file), unless
 * CHAUSSETTE_NATIVE_RESPONSE=1. Called before the app is imported (a class that extends Response at
 * import time extends this one), and by backends that serve fetch apps; calling it again does nothing.
 */
export function installFastResponse(env: NodeJS.ProcessEnv = process.env): void {
  if (env.CHAUSSETTE_NATIVE_RESPONSE === '1' || globalThis.Response === (Response as unknown)) return;
  wire();
  globalThis.Response = Response as unknown as typeof globalThis.Response;
}

/**
 * The parts of a response made by chaussette's Response (or a subclass) whose body is whole, or undefined
 * for any other (stream it). The caller takes the body: once it is sent, `recycleBody()` lets its
 * buffer serve another response.
 */
export function responseParts(response: globalThis.Response | undefined): ResponseParts | undefined {
  return isOurs(response) ? toParts(response) : undefined;
}

/**
 * The parts of a response made by chaussette's Response (or a subclass) whose body is a stream or a Blob,
 * or undefined for any other. The caller takes the stream: call it only to send the response.
 */
export function streamedResponseParts(response: globalThis.Response | undefined): StreamedResponseParts | undefined {
  return isOurs(response) ? takeStream(response) : undefined;
}

/** Lets go of a Response that will not be sent (the client left, or the request became a WebSocket). */
export function discardResponse(response: globalThis.Response | undefined): void {
  const kept = responseParts(response);
  if (kept) recycleBody(kept.body);
  else if (response instanceof globalThis.Response) void response.body?.cancel().catch(() => {});
}
