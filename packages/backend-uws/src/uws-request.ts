import type { X509Certificate } from 'node:crypto';
import { LazyRequest } from '@chaussette/core';
import type { Exchange } from './exchange.js';

// The methods the fetch standard uppercases, whatever case the client sent them in (node:http refuses
// any other case; uWS passes the method on as sent).
const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

function normalizedMethod(method: string): string {
  // Uppercase already: the common case, and a method the standard leaves as it is.
  if (!/[a-z]/.test(method)) return method;
  const upper = method.toUpperCase();
  return NORMALIZED_METHODS.has(upper) ? upper : method;
}

/** A lazy Request (see core's fetch layer) over what the Exchange copied from uWS. */
export class UwsRequest extends LazyRequest {
  readonly #exchange: Exchange;

  constructor(exchange: Exchange, origin: string) {
    super(origin);
    this.#exchange = exchange;
  }

  get method(): string {
    return normalizedMethod(this.#exchange.method);
  }

  get ip(): string | undefined {
    return this.#exchange.remoteAddress;
  }

  /** The client's certificate, verified during the handshake (--cert-reqs), undefined when it sent none. */
  get peerCertificate(): X509Certificate | undefined {
    return this.#exchange.peerCertificate;
  }

  protected override isEncrypted(): boolean {
    return this.#exchange.state.encrypted;
  }

  protected target(): string {
    return this.#exchange.url;
  }

  protected hostHeader(): string | undefined {
    return this.#exchange.header('host');
  }

  protected headerList(): readonly string[] {
    return this.#exchange.headers;
  }

  protected watchAbort(abort: () => void): void {
    this.#exchange.onAbort(abort);
  }

  /** As node:http adapters have it (undici's Request, @hono/node-server, srvx): every method but GET and HEAD, even with no bytes. */
  protected hasBody(): boolean {
    const method = this.method;
    return method !== 'GET' && method !== 'HEAD';
  }

  protected readBody(): Promise<Uint8Array> {
    return this.#exchange.body?.readAll() ?? Promise.resolve(new Uint8Array(0));
  }

  protected bodyStream(): ReadableStream<Uint8Array> {
    const body = this.#exchange.body;
    if (body === undefined) return new ReadableStream({ start: (controller) => controller.close() });
    return new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          const chunk = await body.read();
          if (chunk) controller.enqueue(chunk);
          else controller.close();
        },
        cancel: () => body.discard(),
      },
      { highWaterMark: 0 },
    );
  }
}
