// The TLS concern's clients: node:https and node:tls with the kit's CA, each choosing its SNI, protocol
// versions, ciphers, ALPN and client certificate, whatever useTls() says for the other concerns.
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { BoundAddress } from '@chaussette/core';
import type { CertificateFiles } from './certificates.js';

export interface TlsClientOptions {
  /** The kit CA's PEM: the server's certificate must verify against it. */
  ca: string;
  /** The SNI server name: 'localhost' by default, none when ''. */
  servername?: string;
  /** A client certificate to present. */
  client?: CertificateFiles;
  minVersion?: ConnectionOptions['minVersion'];
  maxVersion?: ConnectionOptions['maxVersion'];
  ciphers?: string;
  ALPNProtocols?: string[];
}

export interface HttpsResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The common name of the certificate the server presented. */
  servedCertificate: string;
  reusedSocket: boolean;
}

const where = (address: BoundAddress) => (address.type === 'unix' ? { socketPath: address.path } : { host: address.host, port: address.port });

/** What node:tls takes from TlsClientOptions; the identity checked only by name when SNI asked for one. */
function connectionOptions({ ca, servername = 'localhost', client, ...rest }: TlsClientOptions): ConnectionOptions {
  return {
    ca,
    servername: servername || undefined,
    // Without SNI, which certificate came is the question; the chain is still verified against the CA.
    ...(!servername && { checkServerIdentity: () => undefined }),
    ...(client && { cert: client.cert, key: client.key }),
    ...rest,
  };
}

/** A keep-alive agent of one connection, for the cases that reuse it. */
export function tlsAgent(options: TlsClientOptions): Agent {
  return new Agent({ ...connectionOptions(options), keepAlive: true, maxSockets: 1 });
}

/** One HTTP/1.1 request over TLS (a connection of its own, unless `agent`), its body read whole. */
export function httpsGet(address: BoundAddress, path: string, options: TlsClientOptions & { agent?: Agent; method?: string; body?: string }): Promise<HttpsResponse> {
  const { agent, method = 'GET', body, ...tls } = options;
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ ...where(address), ...connectionOptions(tls), path, method, agent: agent ?? false }, (res) => {
      const socket = res.socket as TLSSocket;
      const servedCertificate = String(socket.getPeerCertificate().subject?.CN);
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, servedCertificate, reusedSocket: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A TLS connection once its handshake is done; rejects with the handshake's error. */
export function tlsSocket(address: BoundAddress, options: TlsClientOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const target = address.type === 'unix' ? { path: address.path } : { host: address.host, port: address.port };
    const socket = connect({ ...target, ...connectionOptions(options) });
    socket.once('secureConnect', () => resolve(socket)).once('error', reject);
  });
}

/** Raw bytes over TLS: all that comes back until the server closes, or `waitMs` passes. */
export async function tlsExchange(address: BoundAddress, wire: string, options: TlsClientOptions, waitMs = 1500): Promise<{ text: string; closed: boolean }> {
  const socket = await tlsSocket(address, options);
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => {}); // a reset after the answer is a close too
  const closed = new Promise<boolean>((resolve) => {
    socket.once('close', () => resolve(true));
    setTimeout(() => resolve(false), waitMs);
  });
  socket.write(wire);
  const closedByServer = await closed;
  socket.destroy();
  return { text, closed: closedByServer };
}
