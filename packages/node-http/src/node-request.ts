import type { X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { LazyRequest } from '@chaussette/core';
import { isNamed } from './limits.js';
import type { PeerCredentials } from './peer-credentials.js';

/** A LazyRequest over a node IncomingMessage. */
class NodeBackedRequest extends LazyRequest {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;

  constructor(req: IncomingMessage, res: ServerResponse, origin: string) {
    super(origin);
    this.#req = req;
    this.#res = res;
  }

  get method(): string {
    return this.#req.method ?? 'GET';
  }

  get ip(): string | undefined {
    return this.#req.socket.remoteAddress;
  }

  /** With --mount: the prefix the app is mounted at (its request.url is without it). */
  get baseUrl(): string | undefined {
    return (this.#req as { baseUrl?: string }).baseUrl;
  }

  /** With --peercreds, on a unix socket: the client's pid, uid and gid. */
  get peerCredentials(): PeerCredentials | undefined {
    return (this.#req as { peerCredentials?: PeerCredentials }).peerCredentials;
  }

  /** Over TLS, the client's certificate once it verified against --ca-certs; undefined when none was sent or it did not verify. */
  get peerCertificate(): X509Certificate | undefined {
    const socket = this.#req.socket as Partial<TLSSocket>;
    return socket.encrypted === true && socket.authorized === true ? socket.getPeerX509Certificate!() : undefined;
  }

  protected target(): string {
    return this.#req.url ?? '/';
  }

  protected override isEncrypted(): boolean {
    return (this.#req.socket as { encrypted?: boolean }).encrypted === true;
  }

  protected hostHeader(): string | undefined {
    // From the raw headers: req.headers would be built for this alone (see requestHead in limits.ts).
    const raw = this.#req.rawHeaders;
    for (let index = 0; index < raw.length; index += 2) {
      const name = raw[index]!;
      if (name.length === 4 && isNamed(name, 'host', 'Host')) return raw[index + 1];
    }
    return undefined;
  }

  protected headerList(): readonly string[] {
    return this.#req.rawHeaders;
  }

  protected watchAbort(abort: () => void): void {
    const res = this.#res;
    if (res.destroyed && !res.writableFinished) abort();
    else res.once('close', () => res.writableFinished || abort());
  }

  protected hasBody(): boolean {
    return this.method !== 'GET' && this.method !== 'HEAD';
  }

  protected readBody(): Promise<Uint8Array> {
    // Listeners: cheaper than `for await`, whose iterator adds a promise and a 'readable' round per chunk.
    const req = this.#req;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.once('end', () => resolve(Buffer.concat(chunks)));
      req.once('error', reject);
      req.once('close', () => req.complete || reject(new Error('The client closed the connection before sending the whole body')));
    });
  }

  protected bodyStream(): ReadableStream<Uint8Array> {
    return bodyStream(this.#req);
  }
}

/**
 * The request body as a web stream that reads the node request only when the app pulls, so that a body
 * the app never reads is discarded by node:http as usual, and the keep-alive connection goes on.
 */
function bodyStream(req: IncomingMessage, cutShort?: () => boolean): ReadableStream<Uint8Array> {
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
            if (cutShort?.()) return settle(new Error(CUT_SHORT));
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

/**
 * A LazyRequest over node:http2's compatibility API: the same Request as over HTTP/1.1, its URL and
 * `host` from `:authority`, no pseudo-header among its headers, and a body cut short by a reset stream
 * a failed read (the compatibility API ends the request as if it were complete).
 */
class Http2BackedRequest extends NodeBackedRequest {
  readonly #req: Http2ServerRequest;
  readonly #res: Http2ServerResponse;

  constructor(req: Http2ServerRequest, res: Http2ServerResponse, origin: string) {
    super(req as unknown as IncomingMessage, res as unknown as ServerResponse, origin);
    this.#req = req;
    this.#res = res;
  }

  protected override isEncrypted(): boolean {
    return this.#req.stream.session?.encrypted === true;
  }

  protected override hostHeader(): string | undefined {
    const headers = this.#req.headers;
    return headers[':authority'] ?? headers.host;
  }

  protected override headerList(): readonly string[] {
    const raw = this.#req.rawHeaders;
    const authority = this.#req.headers[':authority'];
    const list: string[] = authority !== undefined && this.#req.headers.host === undefined ? ['host', authority] : [];
    for (let index = 0; index < raw.length; index += 2) {
      if (raw[index]!.charCodeAt(0) !== COLON) list.push(raw[index]!, raw[index + 1]!);
    }
    return list;
  }

  protected override watchAbort(abort: () => void): void {
    onStreamCutShort(this.#res, abort);
  }

  protected override readBody(): Promise<Uint8Array> {
    const req = this.#req;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.once('end', () => (cutShort(req) ? reject(new Error(CUT_SHORT)) : resolve(Buffer.concat(chunks))));
      req.once('error', reject);
    });
  }

  protected override bodyStream(): ReadableStream<Uint8Array> {
    return bodyStream(this.#req as unknown as IncomingMessage, () => cutShort(this.#req));
  }
}

const COLON = 0x3a;
/** RFC 9113 §7: the error code of a stream that closed normally. */
export const NO_ERROR = 0;
const CUT_SHORT = 'The client reset the stream before sending the whole body';

/** The request's end came from its stream closing, not from the client's last DATA frame. */
function cutShort(req: Http2ServerRequest): boolean {
  return !req.stream.readableEnded;
}

/**
 * The stream closed before its response was complete: the client reset it (or the session went), or it
 * was reset before the app ended the response. node:http2 ends the stream's writable side on a reset,
 * so `writableFinished` does not tell, as it does for node:http's response.
 */
export function streamCutShort(res: Http2ServerResponse): boolean {
  return !res.writableEnded || (res.stream.rstCode ?? 0) !== NO_ERROR;
}

/** Calls `listener` once the stream is cut short (see streamCutShort): now, if it already was. */
export function onStreamCutShort(res: Http2ServerResponse, listener: () => void): void {
  if (res.stream.destroyed) {
    if (streamCutShort(res)) listener();
  } else {
    res.once('close', () => streamCutShort(res) && listener());
  }
}

/** An HTTP/2 request (node:http2's compatibility API), rather than node:http's. */
export function isHttp2(req: IncomingMessage | Http2ServerRequest): req is Http2ServerRequest {
  return req.httpVersionMajor === 2;
}

export function createRequest(req: IncomingMessage, res: ServerResponse, origin: string): Request {
  if (isHttp2(req)) return new Http2BackedRequest(req, res as unknown as Http2ServerResponse, origin) as unknown as Request;
  return new NodeBackedRequest(req, res, origin) as unknown as Request;
}
