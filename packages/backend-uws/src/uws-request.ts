import { LazyRequest } from '@chaussette/core';
import type { Exchange } from './exchange.js';

/** A lazy Request (see core's fetch layer) over what the Exchange copied from uWS. */
export class UwsRequest extends LazyRequest {
  readonly #exchange: Exchange;

  constructor(exchange: Exchange, origin: string) {
    super(origin);
    this.#exchange = exchange;
  }

  get method(): string {
    return this.#exchange.method;
  }

  get ip(): string | undefined {
    return this.#exchange.remoteAddress;
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

  protected hasBody(): boolean {
    return this.#exchange.body !== undefined && this.method !== 'GET' && this.method !== 'HEAD';
  }

  protected readBody(): Promise<Uint8Array> {
    return this.#exchange.body!.readAll();
  }

  protected bodyStream(): ReadableStream<Uint8Array> {
    const body = this.#exchange.body!;
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
