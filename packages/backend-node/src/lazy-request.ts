import type { IncomingMessage, ServerResponse } from 'node:http';
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

  /** The client's address (after --proxy-headers), as srvx's requests have it. */
  get ip(): string | undefined {
    return this.#req.socket.remoteAddress;
  }

  get url(): string {
    if (this.#url === undefined) {
      const target = this.#req.url ?? '/';
      // An absolute-form target (`GET http://host/path`) is already a URL.
      // The fetch listener has refused a malformed Host; an empty one means none.
      const host = this.#req.headers.host || this.#origin;
      this.#url = target.startsWith('/')
        ? `http://${host}${target}`
        : /^https?:\/\//i.test(target) ? target : `http://${host}/${target}`;
    }
    return this.#url;
  }

  get headers(): Headers {
    if (this.#real) return this.#real.headers;
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

  get #hasBody(): boolean {
    return this.method !== 'GET' && this.method !== 'HEAD';
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
    if (!this.#hasBody) return Buffer.alloc(0); // a null body reads as empty, and stays unused
    if (this.#bodyUsed) throw new TypeError('Body is unusable: Body has already been read');
    this.#bodyUsed = true;
    const chunks: Buffer[] = [];
    for await (const chunk of this.#req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /** The real Request, made on first use of anything the fast paths above do not cover. */
  get [realRequest](): Request {
    if (this.#real === undefined) {
      const real = new Request(this.url, {
        method: this.method,
        headers: this.headers,
        signal: this.signal,
        // A body already read through text()/json()/arrayBuffer() stays used on the real one, below.
        body: this.#hasBody ? (this.#bodyUsed ? '' : bodyStream(this.#req)) : null,
        duplex: 'half', // needed by Node for a streamed request body
      } as RequestInit & { duplex: 'half' });
      if (this.#bodyUsed) void real.arrayBuffer();
      this.#real = real;
    }
    return this.#real;
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

let wired = false;

export function createRequest(req: IncomingMessage, res: ServerResponse, origin: string): Request {
  if (!wired) {
    // Everything else (body, clone(), formData()…, and the state undici reads in `new Request(request)`).
    // On first use, not at import: reading the global Request loads undici.
    forwardMissingMembers(NodeBackedRequest, Request, new Request('http://localhost/'), (light) => (light as NodeBackedRequest)[realRequest]);
    wired = true;
  }
  return new NodeBackedRequest(req, res, origin) as unknown as Request;
}
