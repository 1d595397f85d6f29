import type { IncomingMessage, ServerResponse } from 'node:http';
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

export function createRequest(req: IncomingMessage, res: ServerResponse, origin: string): Request {
  return new NodeBackedRequest(req, res, origin) as unknown as Request;
}
