import { type Agent, type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import type { BoundAddress } from '../backend.js';

export interface ClientResponse {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  reusedSocket: boolean;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  /** A Buffer or string is sent with content-length; an iterable of chunks is sent chunked. */
  body?: Buffer | string | Iterable<Buffer> | AsyncIterable<Buffer>;
  agent?: Agent;
}

/** One HTTP/1.1 request with node:http to a bound address (TCP or unix), the whole response buffered. */
export function request(address: BoundAddress, path: string, options: RequestOptions = {}): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const where = address.type === 'unix' ? { socketPath: address.path } : { host: address.host, port: address.port };
    const req = httpRequest(
      { ...where, path, method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(chunks),
            reusedSocket: req.reusedSocket,
          }),
        );
      },
    );
    req.on('error', reject);
    const { body } = options;
    if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
      req.end(body);
      return;
    }
    (async () => {
      for await (const chunk of body) {
        if (!req.write(chunk)) await new Promise((drain) => req.once('drain', drain));
      }
      req.end();
    })().catch(reject);
  });
}

/** Resolves true when a TCP or unix connection to `address` is accepted, false when refused. */
export async function canConnect(address: BoundAddress): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = address.type === 'unix' ? connect(address.path) : connect(address.port, address.host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
