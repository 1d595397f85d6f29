// What every chaussette backend built on a node:http server shares (the node and fastify backends, the
// on-demand TLS example): serveOnNodeServer() runs a whole Backend.serve() around the server a NodeServerEngine
// makes; the pieces below are what it is made of, for a backend that needs to arrange them otherwise.
// The engine-neutral parts (the backend contract, the fetch layer, limits) are @chaussette/core's.
export { type NodeServerEngine, nodeListenerFor, serveOnNodeServer } from './serve.js';
export { type ConnectionTracker, gracefulClose, IDLE_BEFORE_CLOSE_MS, trackConnections } from './connections.js';
export { BODY_WAIT_MS, fetchListener } from './fetch-listener.js';
export { answerClientError, applyServerLimits, type ClientError, limitedListener, limitServer, refuse, reportAcceptErrors } from './limits.js';
export { boundAddress, listenOptions, nameInheritedUnixSocket } from './listen.js';
export { observeRequest, observeRequests } from './observe.js';
export { exposePeerCredentials, type PeerCredentials } from './peer-credentials.js';
export { createRequest } from './node-request.js';
export { type WebSocketHub, websocketHubFor } from './websocket.js';
export { type NodeHttpServer } from './server-kinds.js';
export { createNodeServer, HTTP2_SETTINGS, http2SecureOptions, type NodeServerKind, SecureContexts, type TlsServerOptions } from './tls.js';
export { acceptPriorKnowledgeHttp2, HTTP2_PREFACE } from './h2c.js';

/**
 * The conformance kit's cases node:http's parser (llhttp) fails, for `knownFailures`: it refuses
 * `Transfer-Encoding: chunked` followed by a tab with 400, where RFC 9110 §5.5 strips the whitespace
 * around a field value (stricter than the RFC, never looser).
 */
export const NODE_HTTP_KNOWN_FAILURES: readonly string[] = ['accepts `chunked` with a tab after it (OWS too)'];
