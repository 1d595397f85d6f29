// Non-stop load as the clients in front of a server send it: a new connection per request, one kept
// connection sending back to back (a reverse proxy's upstream keep-alive), and one kept connection with
// several requests in each write (pipelining). A request fails when its connection ends before it is
// answered, unless an earlier answer on that connection said `Connection: close` (RFC 9112 §9.6: the
// client then sends it again on a new connection, as these loops do).
import type { Socket } from 'node:net';
import type { BoundAddress } from '@chaussette/core';
import { openSocket } from './client.js';

export type ClientKind = 'new-connection' | 'keep-alive' | 'pipelined';

export interface LoadOptions {
  /** Loops that open a new connection for each request. */
  newConnection?: number;
  /** Loops that each keep one connection and send the next request as soon as the last is answered. */
  keepAlive?: number;
  /** Loops that each keep one connection and write `pipelineDepth` requests at once, then read the answers. */
  pipelined?: number;
  pipelineDepth?: number;
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
  /** Answers that said `Connection: close`, after which the connection was closed cleanly. */
  closedByServer: number;
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
    byKind: { 'new-connection': { ok: 0, failed: 0 }, 'keep-alive': { ok: 0, failed: 0 }, pipelined: { ok: 0, failed: 0 } },
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
        connection = new ResponseReader(await openSocket(address));
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

  const loops: Promise<void>[] = [];
  for (let index = 0; index < (options.newConnection ?? 0); index++) loops.push(loop('new-connection', 1));
  for (let index = 0; index < (options.keepAlive ?? 0); index++) loops.push(loop('keep-alive', 1));
  for (let index = 0; index < (options.pipelined ?? 0); index++) loops.push(loop('pipelined', options.pipelineDepth ?? 4));
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
