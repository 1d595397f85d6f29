// Non-stop load as the clients in front of a server send it: a new connection per request, one kept
// connection sending back to back (a reverse proxy's upstream keep-alive), one kept connection with
// several requests in each write (pipelining), all three over TLS too, and HTTP/2 sessions with several
// streams in flight. An HTTP/1.1 request fails when its connection ends before it is answered, unless an
// earlier answer on that connection said `Connection: close` (RFC 9112 §9.6: the client then sends it
// again on a new connection, as these loops do). An HTTP/2 request fails when its stream ends without an
// answer, unless the server said it did not process it (RFC 9113 §8.7: reset with REFUSED_STREAM, or an id
// above a GOAWAY's last-stream-id): the client then sends it again on a new session, as these loops do.
import { type ClientHttp2Session, type ClientHttp2Stream, connect as http2Connect, constants as http2Constants } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { BoundAddress } from '@chaussette/core';
import { openSocket } from './client.js';

export type ClientKind = 'new-connection' | 'keep-alive' | 'pipelined' | 'h2';

/** TLS for every loop: the server's certificate must verify against `ca` for `servername`. */
export interface LoadTls {
  ca: string | Buffer;
  /** The SNI name, and the name the certificate must carry: 'localhost' unless set. */
  servername?: string;
}

export interface LoadOptions {
  /** Loops that open a new connection for each request. */
  newConnection?: number;
  /** Loops that each keep one connection and send the next request as soon as the last is answered. */
  keepAlive?: number;
  /** Loops that each keep one connection and write `pipelineDepth` requests at once, then read the answers. */
  pipelined?: number;
  pipelineDepth?: number;
  /**
   * Loops that each keep one HTTP/2 session with `h2Streams` requests in flight, and open a new one once
   * the server ends it: over TLS with ALPN h2 when `tls` is given, else h2c with prior knowledge.
   */
  h2?: number;
  /** Streams each HTTP/2 loop keeps in flight at once; 4 unless set. */
  h2Streams?: number;
  /**
   * Every loop speaks TLS (a new-connection loop makes a full handshake per request, without session
   * resumption). Unset: plain HTTP, or TLS as useTls() says for the HTTP/1.1 loops.
   */
  tls?: LoadTls;
  path?: string;
  /** Each answer's body, as text (to learn which worker answered, say). */
  onBody?: (body: string) => void;
}

export interface LoadCounts {
  ok: number;
  failed: number;
}

export interface LoadResult extends LoadCounts {
  /** The first few failures: the kind of client, and what it saw. */
  errors: string[];
  byKind: Record<ClientKind, LoadCounts>;
  /**
   * Connections the server ended cleanly: answers that said `Connection: close`, after which it closed
   * the connection, and HTTP/2 sessions it sent GOAWAY on.
   */
  closedByServer: number;
  /**
   * HTTP/2 requests the server did not process (reset with REFUSED_STREAM, or above a GOAWAY's
   * last-stream-id), sent again on a new session; after onlyKeptConnections() there is none to send them on.
   */
  retried: number;
}

export interface Load {
  /** Resolves once `count` requests in all have been answered. */
  answered(count: number): Promise<void>;
  /** The counts so far, while the loops run. */
  counts(): LoadResult;
  /** Ends the loops (each finishes the requests it has sent) and resolves with the counts. */
  stop(): Promise<LoadResult>;
  /**
   * From now on each loop sends only on the connection it holds, and ends once the server closes it:
   * for a lone server that is about to close, whose listening socket nobody else serves.
   */
  onlyKeptConnections(): void;
  /** Resolves with the counts once every loop has ended. */
  done: Promise<LoadResult>;
}

export function startLoad(address: BoundAddress, options: LoadOptions): Load {
  const result: LoadResult = {
    ok: 0,
    failed: 0,
    errors: [],
    closedByServer: 0,
    retried: 0,
    byKind: { 'new-connection': { ok: 0, failed: 0 }, 'keep-alive': { ok: 0, failed: 0 }, pipelined: { ok: 0, failed: 0 }, h2: { ok: 0, failed: 0 } },
  };
  let running = true;
  let connecting = true;
  const path = options.path ?? '/';
  const answeredOne = (kind: ClientKind, body: string) => {
    result.ok++;
    result.byKind[kind].ok++;
    options.onBody?.(body);
  };
  const failed = (kind: ClientKind, count: number, why: string) => {
    result.failed += count;
    result.byKind[kind].failed += count;
    if (result.errors.length < 10) result.errors.push(`${kind}: ${why}`);
  };

  const loop = async (kind: ClientKind, depth: number) => {
    const request = `GET ${path} HTTP/1.1\r\nHost: load\r\n${kind === 'new-connection' ? 'Connection: close\r\n' : ''}\r\n`;
    const batch = request.repeat(depth);
    while (running && connecting) {
      let connection: ResponseReader;
      try {
        connection = new ResponseReader(await (options.tls ? openTlsSocket(address, options.tls, 'http/1.1') : openSocket(address)));
      } catch (error) {
        failed(kind, 1, `connecting: ${(error as { code?: string }).code ?? String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      try {
        // Until the server closes the connection, or says it will.
        for (let open = true; open && running && !connection.ended; ) {
          connection.socket.write(batch);
          for (let index = 0; index < depth; index++) {
            const response = await connection.next();
            if (typeof response === 'string') {
              failed(kind, depth - index, `${depth - index} of ${depth} unanswered: ${response}`);
              open = false;
              break;
            }
            if (response.status === 200) answeredOne(kind, response.body);
            else failed(kind, 1, `status ${response.status}: ${response.body.slice(0, 200)}`);
            if (response.close) {
              if (kind !== 'new-connection') result.closedByServer++;
              open = false; // the rest of the batch is sent again on the next connection
              break;
            }
          }
          if (kind === 'new-connection') open = false;
        }
      } finally {
        connection.socket.destroy();
      }
    }
  };

  const h2Streams = options.h2Streams ?? 4;
  /** Sends on `session` until it ends (or the load stops): resolves with the requests to send again on a new one. */
  const useH2Session = async (session: ClientHttp2Session, owed: number): Promise<number> => {
    let lastStreamId: number | undefined;
    session.on('goaway', (_code: number, lastStreamID: number) => {
      lastStreamId = lastStreamID;
      result.closedByServer++;
    });
    session.on('error', () => {}); // each stream in flight says what it saw
    let resend = 0;
    const stream = async () => {
      while (!session.closed && !session.destroyed && (running || owed > 0)) {
        if (owed > 0) owed--;
        const outcome = await h2Exchange(session, path, () => lastStreamId);
        if (outcome.kind === 'unprocessed') {
          resend++;
          result.retried++;
        } else if (outcome.kind === 'failed') failed('h2', 1, outcome.why);
        else if (outcome.status === 200) answeredOne('h2', outcome.body);
        else failed('h2', 1, `status ${outcome.status}: ${outcome.body.slice(0, 200)}`);
      }
    };
    await Promise.all(Array.from({ length: h2Streams }, stream));
    session.destroy();
    return resend + owed;
  };
  const h2Loop = async () => {
    for (let owed = 0; connecting && (running || owed > 0); ) {
      let session: ClientHttp2Session;
      try {
        session = await openH2Session(address, options.tls);
      } catch (error) {
        failed('h2', 1, `connecting: ${(error as { code?: string }).code ?? String(error)}`);
        owed = Math.max(0, owed - 1);
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      owed = await useH2Session(session, owed);
    }
  };

  const loops: Promise<void>[] = [];
  for (let index = 0; index < (options.newConnection ?? 0); index++) loops.push(loop('new-connection', 1));
  for (let index = 0; index < (options.keepAlive ?? 0); index++) loops.push(loop('keep-alive', 1));
  for (let index = 0; index < (options.pipelined ?? 0); index++) loops.push(loop('pipelined', options.pipelineDepth ?? 4));
  for (let index = 0; index < (options.h2 ?? 0); index++) loops.push(h2Loop());
  const done = Promise.all(loops).then(() => result);
  return {
    async answered(count) {
      while (result.ok < count && running) await new Promise((resolve) => setTimeout(resolve, 10));
    },
    counts: () => structuredClone(result),
    async stop() {
      running = false;
      return done;
    },
    onlyKeptConnections() {
      connecting = false;
    },
    done,
  };
}

const where = (address: BoundAddress) => (address.type === 'unix' ? { path: address.path } : { host: address.host, port: address.port });

/** A TLS connection offering `alpn`, once its handshake is done. */
function openTlsSocket(address: BoundAddress, tls: LoadTls, alpn: 'http/1.1' | 'h2'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ ...where(address), ca: tls.ca, servername: tls.servername ?? 'localhost', ALPNProtocols: [alpn] });
    socket.once('secureConnect', () => resolve(socket)).once('error', reject);
  });
}

/** An HTTP/2 session, once its SETTINGS are exchanged: TLS with ALPN h2, or h2c with prior knowledge. */
async function openH2Session(address: BoundAddress, tls: LoadTls | undefined): Promise<ClientHttp2Session> {
  const socket = tls ? await openTlsSocket(address, tls, 'h2') : await new Promise<Socket>((resolve, reject) => {
    const plain = netConnect(where(address));
    plain.once('connect', () => resolve(plain)).once('error', reject);
  });
  if (tls && (socket as Socket & { alpnProtocol?: string | false }).alpnProtocol !== 'h2') {
    socket.destroy();
    throw new Error('the server did not agree on h2 by ALPN');
  }
  return new Promise((resolve, reject) => {
    const session = http2Connect(`${tls ? 'https' : 'http'}://${tls?.servername ?? 'localhost'}`, { createConnection: () => socket });
    session.once('connect', () => resolve(session)).once('error', reject);
  });
}

type H2Outcome = { kind: 'answered'; status: number; body: string } | { kind: 'unprocessed' } | { kind: 'failed'; why: string };

/** One GET on a new stream of `session`, and what became of it once the stream closed. */
function h2Exchange(session: ClientHttp2Session, path: string, lastStreamId: () => number | undefined): Promise<H2Outcome> {
  return new Promise((resolve) => {
    let stream: ClientHttp2Stream;
    try {
      stream = session.request({ ':path': path });
    } catch {
      return resolve({ kind: 'unprocessed' }); // the session closed before it went out
    }
    let status: number | undefined;
    let ended = false;
    let error: Error | undefined;
    const chunks: Buffer[] = [];
    stream.on('response', (head) => (status = Number(head[':status'])));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => (ended = true));
    stream.on('error', (streamError) => (error = streamError));
    stream.on('close', () => {
      if (ended && status !== undefined) return resolve({ kind: 'answered', status, body: Buffer.concat(chunks).toString() });
      resolve(unanswered(stream.id, stream.rstCode, lastStreamId(), error));
    });
  });
}

/** RFC 9113 §8.7: a stream the server refused, or one above the last-stream-id of its GOAWAY, was not processed. */
function unanswered(id: number | undefined, rstCode: number | undefined, lastStreamId: number | undefined, error: Error | undefined): H2Outcome {
  if (rstCode === http2Constants.NGHTTP2_REFUSED_STREAM) return { kind: 'unprocessed' };
  if (id === undefined) return { kind: 'unprocessed' }; // it never left the client
  if (lastStreamId !== undefined && id > lastStreamId) return { kind: 'unprocessed' };
  const how = error ? ((error as { code?: string }).code ?? error.message) : `closed with code ${rstCode}`;
  const goaway = lastStreamId === undefined ? 'no GOAWAY' : `GOAWAY's last-stream-id ${lastStreamId}`;
  return { kind: 'failed', why: `stream ${id} unanswered: ${how} (${goaway})` };
}

interface Response {
  status: number;
  close: boolean;
  body: string;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** Reads HTTP/1.1 responses off a socket, one by one: with Content-Length, chunked, or up to the close. */
class ResponseReader {
  ended = false;
  #buffer: Buffer = Buffer.alloc(0);
  #why = '';
  #wake: (() => void) | undefined;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
      this.#wake?.();
    });
    const end = (why: string) => {
      this.ended = true;
      this.#why ||= why;
      this.#wake?.();
    };
    socket.on('end', () => end('the server closed the connection'));
    socket.on('error', (error: NodeJS.ErrnoException) => end(error.code ?? error.message));
    socket.on('close', () => end('the connection closed'));
  }

  /** The next response, or why the connection ended before it was whole. */
  async next(): Promise<Response | string> {
    for (;;) {
      const response = this.#parse();
      if (response) return response;
      if (this.ended) return this.#why;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }

  #parse(): Response | undefined {
    const headEnd = this.#buffer.indexOf(HEAD_END);
    if (headEnd < 0) return undefined;
    const [statusLine = '', ...fields] = this.#buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    const headers = new Map(fields.map((field) => [field.slice(0, field.indexOf(':')).trim().toLowerCase(), field.slice(field.indexOf(':') + 1).trim()]));
    const close = /\bclose\b/i.test(headers.get('connection') ?? '');
    let rest = this.#buffer.subarray(headEnd + HEAD_END.length);
    let body: Buffer;
    if (headers.has('content-length')) {
      const length = Number(headers.get('content-length'));
      if (rest.length < length) return undefined;
      body = rest.subarray(0, length);
      rest = rest.subarray(length);
    } else if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) {
      const chunks: Buffer[] = [];
      for (;;) {
        const sizeEnd = rest.indexOf('\r\n');
        if (sizeEnd < 0) return undefined;
        const size = Number.parseInt(rest.subarray(0, sizeEnd).toString('latin1'), 16);
        if (rest.length < sizeEnd + 2 + size + 2) return undefined;
        chunks.push(rest.subarray(sizeEnd + 2, sizeEnd + 2 + size));
        rest = rest.subarray(sizeEnd + 2 + size + 2);
        if (size === 0) break;
      }
      body = Buffer.concat(chunks);
    } else if (status === 204 || status === 304) {
      body = Buffer.alloc(0);
    } else {
      if (!this.ended) return undefined; // delimited by the close
      body = rest;
      rest = Buffer.alloc(0);
    }
    this.#buffer = rest;
    return { status, close, body: body.toString() };
  }
}
