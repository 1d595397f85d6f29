import { describeValue, errorMessage, type FetchHandler, forwardMissingMembers, type Logger, responseParts } from '@chaussette/core';
import { isResponse, isValidHost, partsOf } from '@chaussette/backend-node/bridge';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { Exchange, type ServerState } from './exchange.js';

const utf8 = new TextDecoder();
const realRequest = Symbol('realRequest');
const INTERNAL_ERROR = 'Internal Server Error\n';
// Clients of one server mostly send the same Host: checked once, not per request.
let lastValidHost = '';

/**
 * A WHATWG Request over an Exchange: `method`, `url`, `headers`, `signal` and the text()/json()/
 * arrayBuffer() readers work on what the exchange copied from uWS; anything else builds the real
 * Request once and delegates to it. `instanceof Request` holds.
 */
class UwsRequest {
  readonly #exchange: Exchange;
  readonly #origin: string;
  #headers: Headers | undefined;
  #controller: AbortController | undefined;
  #real: Request | undefined;
  #bodyUsed = false;

  constructor(exchange: Exchange, origin: string) {
    this.#exchange = exchange;
    this.#origin = origin;
  }

  get method(): string {
    return this.#exchange.method;
  }

  /** The client's address (after --proxy-headers), as srvx's requests have it. */
  get ip(): string | undefined {
    return this.#exchange.remoteAddress;
  }

  get url(): string {
    const target = this.#exchange.url;
    const host = this.#exchange.header('host') || this.#origin;
    return target.startsWith('/') ? `http://${host}${target}` : /^https?:\/\//i.test(target) ? target : `http://${host}/${target}`;
  }

  get headers(): Headers {
    if (this.#real) return this.#real.headers;
    if (this.#headers === undefined) {
      const headers = new Headers();
      const list = this.#exchange.headers;
      for (let index = 0; index < list.length; index += 2) headers.append(list[index]!, list[index + 1]!);
      this.#headers = headers;
    }
    return this.#headers;
  }

  /** Aborts when the client goes away before the response is complete. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.#exchange.onAbort(() => controller.abort());
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

  async #readBody(): Promise<Uint8Array> {
    const body = this.#exchange.body;
    if (this.#bodyUsed) throw new TypeError('Body is unusable: Body has already been read');
    if (!body) return new Uint8Array(0);
    this.#bodyUsed = true;
    return body.readAll();
  }

  get [realRequest](): Request {
    if (this.#real === undefined) {
      const body = this.#exchange.body;
      const real = new Request(this.url, {
        method: this.method,
        headers: this.headers,
        signal: this.signal,
        body: body && this.method !== 'GET' && this.method !== 'HEAD' ? (this.#bodyUsed ? '' : bodyStream(this.#exchange)) : null,
        duplex: 'half',
      } as RequestInit & { duplex: 'half' });
      if (this.#bodyUsed) void real.arrayBuffer();
      this.#real = real;
    }
    return this.#real;
  }
}

let wired = false;

/** The request body as a web stream that reads from uWS only as the app pulls. */
function bodyStream(exchange: Exchange): ReadableStream<Uint8Array> {
  const body = exchange.body!;
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

/** Serves a fetch handler on uWebSockets.js: a lazy Request in, the Response written back corked, with backpressure. */
export function fetchHandler(fetch: FetchHandler, logger: Logger, origin: () => string, state: ServerState) {
  if (!wired) {
    // Here, not at import: reading the global Request loads undici, which node apps do not need.
    forwardMissingMembers(UwsRequest, Request, new Request('http://localhost/'), (light) => (light as UwsRequest)[realRequest]);
    wired = true;
  }
  return (res: HttpResponse, req: HttpRequest): void => {
    const exchange = new Exchange(res, req, state);
    try {
      handle(exchange);
    } finally {
      exchange.leaveHandler();
    }
  };

  function handle(exchange: Exchange): void {
    const host = exchange.header('host');
    if (host && host !== lastValidHost && !(isValidHost(host) && (lastValidHost = host))) {
      void exchange.respond(400, '', ['content-type', 'text/plain', 'connection', 'close'], 'Bad Request: invalid Host header\n');
      return;
    }
    let result: Response | Promise<Response>;
    try {
      result = fetch(new UwsRequest(exchange, origin()) as unknown as Request);
    } catch (error) {
      respondWithError(exchange, error, logger);
      return;
    }
    if (typeof (result as Partial<Promise<Response>> | null)?.then !== 'function') {
      sendResponse(result as Response, exchange, logger);
    } else {
      (result as Promise<Response>).then(
        (response) => sendResponse(response, exchange, logger),
        (error: unknown) => respondWithError(exchange, error, logger),
      );
    }
  }
}

function sendResponse(response: Response, exchange: Exchange, logger: Logger): void {
  const kept = responseParts(response); // chaussette's own Response: the common case, first
  if (kept) {
    void exchange.respond(kept.status, kept.statusText, kept.headers, kept.body);
    return;
  }
  if (!isResponse(response)) {
    respondWithError(exchange, new TypeError(`The fetch handler returned ${describeValue(response)}, not a Response`), logger);
    return;
  }
  const parts = partsOf(response);
  if (exchange.aborted) {
    if (parts.body === undefined) void response.body?.cancel().catch(() => {});
    return;
  }
  try {
    if (parts.body !== undefined) {
      void exchange.respond(parts.status, parts.statusText, parts.headers, parts.body);
      return;
    }
    const body = response.body;
    if (body === null || exchange.isHead) {
      void exchange.respond(parts.status, parts.statusText, parts.headers, null);
      void body?.cancel().catch(() => {});
      return;
    }
    const reader = body.getReader(); // throws for a body already read: a 500, before any header is sent
    exchange.startStream(parts.status, parts.statusText, parts.headers);
    streamBody(reader, exchange).catch((error: unknown) => {
      logger.error({ err: error }, `Error while streaming the response to ${exchange.method} ${exchange.url}`);
      exchange.destroy();
    });
  } catch (error) {
    respondWithError(exchange, error, logger);
  }
}

async function streamBody(reader: ReadableStreamDefaultReader<Uint8Array>, exchange: Exchange): Promise<void> {
  exchange.onAbort(() => void reader.cancel().catch(() => {})); // the client went away: stop the app's stream
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (exchange.aborted) return;
    await exchange.write(value);
  }
  await exchange.end();
}

/** Logs an app error with its stack and answers 500, without the app's headers or internals. */
export function respondWithError(exchange: Exchange, error: unknown, logger: Logger): void {
  if (exchange.aborted) {
    logger.debug(`The client of ${exchange.method} ${exchange.url} went away: ${errorMessage(error)}`);
    return;
  }
  logger.error({ err: error }, `Error in the app while handling ${exchange.method} ${exchange.url}`);
  if (exchange.done) return;
  if (exchange.headersSent) {
    exchange.destroy();
    return;
  }
  void exchange.respond(500, 'Internal Server Error', ['content-type', 'text/plain; charset=utf-8'], INTERNAL_ERROR);
}

