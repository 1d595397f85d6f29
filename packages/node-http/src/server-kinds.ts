import type { Server as HttpServer } from 'node:http';
import type { Http2SecureServer, Http2Server } from 'node:http2';
import type { Server as HttpsServer } from 'node:https';

/**
 * The servers serveOnNodeServer() runs: node:http's and node:https's (HTTP/1.1), and node:http2's
 * (with allowHTTP1 over TLS; beside an HTTP/1.1 server for h2c). HTTP/1.1 requests arrive as
 * IncomingMessage and ServerResponse, HTTP/2 ones as node's compatibility API (Http2ServerRequest…).
 */
export type NodeHttpServer = HttpServer | HttpsServer | Http2Server | Http2SecureServer;
