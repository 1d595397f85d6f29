// The HTTP/2 concern's client: node:http2 sessions over TLS (ALPN h2) or h2c (prior knowledge), and one
// request per stream, what came back kept even when the stream then ends in error.
import { type ClientHttp2Session, connect, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { BoundAddress } from '@chaussette/core';

export type Transport = 'TLS (ALPN h2)' | 'h2c (prior knowledge)';

export interface H2Response {
  /** Undefined when no response head came. */
  status: number | undefined;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The stream's error, if it ended in one (after its response, or instead of it). */
  error: Error | undefined;
}

/** A session to `address`; `ca` for TLS, none for h2c. Resolves once connected. */
export function h2Session(address: BoundAddress, ca: string | undefined): Promise<ClientHttp2Session> {
  if (address.type !== 'tcp') throw new Error('the kit speaks HTTP/2 on TCP');
  const authority = `${ca ? 'https' : 'http'}://127.0.0.1:${address.port}`;
  return new Promise((resolve, reject) => {
    const session = connect(authority, ca ? { ca, servername: 'localhost', ALPNProtocols: ['h2'] } : {});
    session.once('connect', () => resolve(session)).once('error', reject);
  });
}

export interface H2RequestOptions {
  body?: string | Buffer | AsyncIterable<Buffer>;
  /** Stop reading for this long after the first chunk of the response. */
  stallMs?: number;
}

/** One request on a stream of `session`, its whole response (or its error) once the stream closes. */
export function h2Request(session: ClientHttp2Session, headers: OutgoingHttpHeaders, { body, stallMs }: H2RequestOptions = {}): Promise<H2Response> {
  return new Promise((resolve) => {
    const result: H2Response = { status: undefined, headers: {}, body: Buffer.alloc(0), error: undefined };
    let stream;
    try {
      stream = session.request(headers, { endStream: body === undefined });
    } catch (error) {
      return resolve({ ...result, error: error as Error });
    }
    const chunks: Buffer[] = [];
    stream.on('response', (head) => {
      result.headers = head;
      result.status = Number(head[':status']);
    });
    stream.on('data', (chunk: Buffer) => {
      if (chunks.length === 0 && stallMs) {
        stream.pause();
        setTimeout(() => stream.resume(), stallMs);
      }
      chunks.push(chunk);
    });
    stream.on('error', (error) => (result.error = error));
    stream.on('close', () => resolve({ ...result, body: Buffer.concat(chunks) }));
    if (body === undefined) return;
    if (typeof body === 'string' || Buffer.isBuffer(body)) return void stream.end(body);
    (async () => {
      for await (const chunk of body) if (!stream.write(chunk)) await new Promise((drain) => stream.once('drain', drain));
      stream.end();
    })().catch((error: unknown) => stream.destroy(error as Error));
  });
}

/** `count` chunks of `size` bytes, each filled with its index. */
export async function* chunksOf(count: number, size: number): AsyncIterable<Buffer> {
  for (let index = 0; index < count; index++) yield Buffer.alloc(size, index % 256);
}

/** An HTTP/2 frame as RFC 9113 §4.1 lays it out. */
export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

export const FRAME = { DATA: 0x0, HEADERS: 0x1, RST_STREAM: 0x3, SETTINGS: 0x4, GOAWAY: 0x7, WINDOW_UPDATE: 0x8 } as const;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const MAX_WINDOW = 2 ** 31 - 1;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const ACK = 0x1;
const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head.writeUInt8(type, 3);
  head.writeUInt8(flags, 4);
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** A GET's header block in HPACK (RFC 7541): static-table fields, the path and authority as literals. */
function getHeaderBlock(path: string, scheme: 'http' | 'https', authority: string): Buffer {
  const literal = (nameIndex: number, value: string) => Buffer.concat([Buffer.from([0x40 | nameIndex, value.length]), Buffer.from(value, 'latin1')]);
  return Buffer.concat([Buffer.from([0x82, scheme === 'https' ? 0x87 : 0x86]), literal(4, path), literal(1, authority)]);
}

/**
 * A client that writes frames itself, for what node:http2's client will not do: open a stream after
 * the server's GOAWAY (RFC 9113 §6.8), to see that the server does not serve it.
 */
export class RawH2Connection {
  readonly frames: Frame[] = [];
  #buffered = Buffer.alloc(0);
  #waiters = new Set<() => void>();
  #socket: Duplex;
  #scheme: 'http' | 'https';
  closed = false;

  constructor(socket: Duplex, scheme: 'http' | 'https') {
    this.#socket = socket;
    this.#scheme = scheme;
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    socket.on('error', () => {}); // a reset is a close here
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.write(Buffer.concat([Buffer.from(PREFACE, 'latin1'), frame(FRAME.SETTINGS, 0, 0)]));
  }

  get(stream: number, path: string): void {
    this.#socket.write(frame(FRAME.HEADERS, END_STREAM | END_HEADERS, stream, getHeaderBlock(path, this.#scheme, 'localhost')));
  }

  /** Resolves once `found` holds of the frames read, or the connection closed; false after `timeoutMs`. */
  async until(found: (frames: Frame[]) => boolean, timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!found(this.frames)) {
      if (this.closed || Date.now() > deadline) return found(this.frames);
      await new Promise<void>((wake) => {
        this.#waiters.add(wake);
        setTimeout(wake, Math.max(0, deadline - Date.now()));
      });
    }
    return true;
  }

  /** The largest flow-control windows, the connection's and every stream's: the server may send as fast as it can. */
  openWindows(): void {
    const setting = Buffer.alloc(6);
    setting.writeUInt16BE(SETTINGS_INITIAL_WINDOW_SIZE, 0);
    setting.writeUInt32BE(MAX_WINDOW, 2);
    const increment = Buffer.alloc(4);
    increment.writeUInt32BE(MAX_WINDOW - 65_535, 0);
    this.#socket.write(Buffer.concat([frame(FRAME.SETTINGS, 0, 0, setting), frame(FRAME.WINDOW_UPDATE, 0, 0, increment)]));
  }

  /** Stops reading the socket, as a client that has stopped reading does: the kernel's buffers fill up. */
  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  /** How many bytes of DATA `stream` has received. */
  dataLengthOf(stream: number): number {
    return this.frames.reduce((sum, each) => sum + (each.stream === stream && each.type === FRAME.DATA ? each.payload.length : 0), 0);
  }

  /** The DATA of `stream`, as text. */
  dataOf(stream: number): string {
    return Buffer.concat(this.frames.filter((each) => each.stream === stream && each.type === FRAME.DATA).map(({ payload }) => payload)).toString();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #read(chunk: Buffer): void {
    this.#buffered = Buffer.concat([this.#buffered, chunk]);
    while (this.#buffered.length >= 9) {
      const length = this.#buffered.readUIntBE(0, 3);
      if (this.#buffered.length < 9 + length) break;
      const read: Frame = { type: this.#buffered[3]!, flags: this.#buffered[4]!, stream: this.#buffered.readUInt32BE(5) & 0x7fffffff, payload: this.#buffered.subarray(9, 9 + length) };
      this.#buffered = this.#buffered.subarray(9 + length);
      if (read.type === FRAME.SETTINGS && !(read.flags & ACK)) this.#socket.write(frame(FRAME.SETTINGS, ACK, 0));
      this.frames.push(read);
    }
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }
}
