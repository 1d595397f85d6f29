import {
  Agent,
  type AgentOptions,
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request as httpRequest,
  type RequestOptions as RequestOptionsOfNode,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { BoundAddress } from '@chaussette/core';

/** How the kit's clients reach a backend that serves TLS: the CA that signed its certificate. */
export interface ClientTls {
  ca: string | Buffer;
}

let tls: ClientTls | undefined;

/** From now on, in this test file, every kit client speaks TLS with `options` (undefined: plain HTTP). */
export function useTls(options: ClientTls | undefined): void {
  tls = options;
}

/** The kit's TLS settings (see useTls), undefined for plain HTTP. */
export function currentTls(): ClientTls | undefined {
  return tls;
}

/** node:http's request(), or node:https's with the kit's CA. */
export function clientRequest(options: RequestOptionsOfNode, callback: (res: IncomingMessage) => void): ClientRequest {
  return tls ? httpsRequest({ ...options, ca: tls.ca, servername: 'localhost' }, callback) : httpRequest(options, callback);
}

/** A keep-alive agent for the kit's transport. */
export function keepAliveAgent(options: AgentOptions = {}): Agent {
  return tls ? new HttpsAgent({ ...options, keepAlive: true, ca: tls.ca }) : new Agent({ ...options, keepAlive: true });
}

/** A connected socket (TLS once its handshake is done, with the kit's transport). */
export function openSocket(address: BoundAddress): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const where = address.type === 'unix' ? { path: address.path } : { port: address.port, host: address.host };
    const socket: Socket = tls ? tlsConnect({ ...where, ca: tls.ca, servername: 'localhost' }) : netConnect(where);
    socket.once(tls ? 'secureConnect' : 'connect', () => resolve(socket)).once('error', reject);
  });
}

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
  /** The client stops reading for this long after the first chunk of the response: the server must wait. */
  stallMs?: number;
}

/** One HTTP/1.1 request with node:http to a bound address (TCP or unix), the whole response buffered. */
export function request(address: BoundAddress, path: string, options: RequestOptions = {}): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const where = address.type === 'unix' ? { socketPath: address.path } : { host: address.host, port: address.port };
    const req = clientRequest(
      { ...where, path, method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          if (chunks.length === 0 && options.stallMs) {
            res.pause();
            setTimeout(() => res.resume(), options.stallMs);
          }
          chunks.push(chunk);
        });
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
