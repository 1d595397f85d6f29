export type {
  AccessEntry,
  App,
  AppKind,
  Backend,
  BoundAddress,
  FetchApp,
  FetchHandler,
  Limits,
  ListenTarget,
  Logger,
  NodeApp,
  NodeListener,
  ServeOptions,
  ServerHandle,
  TrustedProxies,
  UpgradeListener,
} from './backend.js';
export {
  type AcceptedUpgrade,
  callWebSocketHandler,
  type FetchServer,
  isWebSocketHandler,
  isWebSocketHandshake,
  messageByteLength,
  perWebSocketHandler,
  type ServerWebSocket,
  type UpgradeOptions,
  upgradeRequest,
  type WebSocketHandler,
  type WebSocketMessage,
  type WebSocketSettings,
  websocketSettings,
} from './websocket.js';
export { clientAddress, parseTrustedProxies } from './proxy.js';
export { acquireListenTargets, type ListenRequest } from './acquire.js';
export { type AppInterface, describeValue, toApp } from './detect-app.js';
export { ChaussetteError, errorCode, errorMessage, invalidOption, isChaussetteError, refuseBackendOptions } from './errors.js';
export {
  type InheritedSocket,
  inspectInheritedSocket,
  readSocketTable,
  SD_LISTEN_FDS_START,
  type SocketFamily,
  type SystemdSocket,
  systemdSockets,
} from './inherited-socket.js';
export {
  type BindSpec,
  formatAddress,
  formatListenAddress,
  parseBacklog,
  parseBindSpec,
  parseFd,
  parsePort,
  parseSocketMode,
} from './listen-target.js';
export { DEFAULT_LIMITS, isValidHost, refusal, refusalFor, type RequestHead, resolveLimits } from './limits.js';
export { forwardMissingMembers } from './forward-members.js';
export {
  acceptLazyRequests,
  bodyUntouched,
  byteLength,
  callFetch,
  discardResponse,
  installFastResponse,
  INTERNAL_ERROR_BODY,
  isResponse,
  LazyRequest,
  NO_WEBSOCKETS,
  hasContentLength,
  partsOf,
  recycleBody,
  respondWithAppError,
  type ResponseSink,
  type SendableParts,
  sendResponse,
} from './fetch-layer.js';
export { guardedListener, respondWithError } from './guarded-listener.js';
export { MAX_TIMEOUT_MS, waitAtMost } from './timers.js';
export { detectApp, loadApp, type LoadAppOptions } from './load-app.js';
export { composeMounts, type Mount, parseMount, refuseSharedPrefixes } from './mounts.js';
export { importModule, loadExport, parseExportSpecifier, requireByRealPath } from './load-module.js';
export { listInstalledBackends, loadInstalledBackends, resolveBackend, type ResolveBackendOptions } from './resolve-backend.js';
export { type Listening, listenError, type OptionsBeforeApp, refuseUnsupportedOptions, type RunningServer, startServer, type StartOptions } from './serve.js';
export {
  certificateFor,
  CLIENT_CERTIFICATES,
  type ClientCertificates,
  DEFAULT_CIPHERS,
  loadTls,
  MIN_TLS_VERSION,
  refuseH2cWithTls,
  type ServedCertificate,
  type TlsRequest,
  type TlsSettings,
} from './tls.js';
export { type OwnedSocketFile, ownSocketFile, removeStaleUnixSocket } from './unix-socket.js';
export { looksLikeFastifyPlugin } from './fastify-plugin.js';
