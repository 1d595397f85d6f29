import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { forwardMissingMembers } from '@chaussette/core';

const utf8 = new TextDecoder();
const realRequest = Symbol('realRequest');

/**
 * A WHATWG Request over a node IncomingMessage that builds only what the app reads: `method`, `url`,
 * `headers`, `signal` and the `text()`/`json()`/`arrayBuffer()` body readers work straight on the node
 * request; anything else creates the real Request once and delegates to it. `instanceof Request` holds.
 */
class NodeBackedRequest {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #origin: string;
  #url: string | undefined;
  #headers: Headers | undefined;
  #controller: AbortController | undefined;
  #real: Request | undefined;
  #bodyUsed = false;

  constructor(req: IncomingMessage, res: ServerResponse, origin: string) {
    this.#req = req;
    this.#res = res;
    this.#origin = origin;
  }

  get method(): string {
    return this.#req.method ?? 'GET';
  }

  get url(): string {
    if (this.#url === undefined) {
      const target = this.#req.url ?? '/';
      // An absolute-form target (`GET http://host/path`) is already a URL.
      this.#url = target.startsWith('/')
        ? `http://${this.#req.headers.host ?? this.#origin}${target}`
        : /^https?:\/\//i.test(target) ? target : `http://${this.#req.headers.host ?? this.#origin}/${target}`;
    }
    return this.#url;
  }

  get headers(): Headers {
    if (this.#headers === undefined) {
      const headers = new Headers();
      const raw = this.#req.rawHeaders;
      for (let index = 0; index < raw.length; index += 2) headers.append(raw[index]!, raw[index + 1]!);
      this.#headers = headers;
    }
    return this.#headers;
  }

  /** Aborts when the client goes away before the response is complete. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      const res = this.#res;
      if (res.destroyed && !res.writableFinished) controller.abort();
      else res.once('close', () => res.writableFinished || controller.abort());
      this.#controller = controller;
    }
    return this.#controller.signal;
  }

  get bodyUsed(): boolean {
    return this.#bodyUsed || (this.#real?.bodyUsed ?? false);
  }

  text(): Promise<string> {
    if (this.#real) return this.#real.text();
    return this.#readBody().then((bytes) => utf8.decode(bytes));
  }

  json(): Promise<unknown> {
    if (this.#real) return this.#real.json();
    return this.text().then((text) => JSON.parse(text));
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#real) return this.#real.arrayBuffer();
    return this.#readBody().then((bytes) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  }

  async #readBody(): Promise<Buffer> {
    if (this.#bodyUsed) throw new TypeError('Body is unusable: Body has already been read');
    this.#bodyUsed = true;
    const chunks: Buffer[] = [];
    for await (const chunk of this.#req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /** The real Request, made on first use of anything the fast paths above do not cover. */
  get [realRequest](): Request {
    if (this.#real === undefined) {
      const method = this.method;
      const hasBody = method !== 'GET' && method !== 'HEAD' && !this.#bodyUsed;
      this.#real = new Request(this.url, {
        method,
        headers: this.headers,
        signal: this.signal,
        body: hasBody ? (Readable.toWeb(this.#req) as ReadableStream<Uint8Array>) : null,
        duplex: 'half', // needed by Node for a streamed request body
      } as RequestInit & { duplex: 'half' });
    }
    return this.#real;
  }
}

// Everything else (body, clone(), formData()…, and the state undici reads in `new Request(request)`).
forwardMissingMembers(NodeBackedRequest, Request, new Request('http://localhost/'), (light) => (light as NodeBackedRequest)[realRequest]);

export function createRequest(req: IncomingMessage, res: ServerResponse, origin: string): Request {
  return new NodeBackedRequest(req, res, origin) as unknown as Request;
}
