import { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger, NodeListener } from './backend.js';
import { errorMessage } from './errors.js';

/** The body of every 500 chaussette sends for an app: nothing of the app's headers or internals. */
export const INTERNAL_ERROR_BODY = 'Internal Server Error\n';

/** Logs an app error with its stack and answers 500, without any of the app's headers or internals. */
export function respondWithError(req: IncomingMessage, res: ServerResponse, error: unknown, logger: Logger): void {
  // Not req.destroyed: node:http destroys a request once its body has been read. node:http2's
  // compatibility response has no `destroyed`: its stream's says.
  if (res.destroyed || (res as { stream?: { destroyed: boolean } }).stream?.destroyed) {
    // The client went away (often the cause of the error, e.g. an aborted upload): nothing to answer.
    logger.debug(`The client of ${req.method} ${req.url} went away: ${errorMessage(error)}`);
    return;
  }
  logger.error({ err: error }, `Error in the app while handling ${req.method} ${req.url}`);
  if (res.writableEnded) return; // the response is complete: let it reach the client
  if (res.headersSent) {
    // Too late for a status code: cut the connection so the client sees a broken response, not a short one.
    res.destroy();
    return;
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  // No reason phrase: node:http writes its own, and HTTP/2 has none.
  res.writeHead(500, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(INTERNAL_ERROR_BODY),
  });
  res.end(INTERNAL_ERROR_BODY);
}

/**
 * A node app's listener as a backend must call it: a throw or a rejected promise answers 500 (see
 * respondWithError) instead of ending the process. For node:http and for any engine's node-compatible
 * request and response (the uws backend's).
 */
export function guardedListener(listener: NodeListener, logger: Logger): NodeListener {
  return (req, res) => {
    if (req.httpVersionMajor === 2) {
      keepOwnMembers(req, res);
      addGatewayFields(req);
    }
    try {
      const result = listener(req, res) as { then?: unknown } | undefined;
      if (typeof result?.then === 'function') {
        (result as Promise<unknown>).then(undefined, (error: unknown) => respondWithError(req, res, error, logger));
      }
    } catch (error) {
      respondWithError(req, res, error, logger);
    }
  };
}

/**
 * The fields an HTTP/2-to-HTTP/1.1 gateway adds (RFC 9113 §8.3.1), which node apps look for: `host` from
 * `:authority` (Express's req.hostname, `new URL(req.url, \`http://${req.headers.host}\`)`), and
 * `transfer-encoding: chunked` for a body without a Content-Length (body parsers read a body only when
 * one of the two says there is one).
 */
function addGatewayFields(req: IncomingMessage): void {
  const { headers } = req;
  const authority = headers[':authority'];
  if (headers.host === undefined && typeof authority === 'string') headers.host = authority;
  const stream = (req as { stream?: { endAfterHeaders?: boolean } }).stream;
  if (headers['content-length'] === undefined && stream?.endAfterHeaders === false) headers['transfer-encoding'] = 'chunked';
}

type Members = Record<string | symbol, PropertyDescriptor>;
const ownMembers = new WeakMap<object, Members>();

/**
 * Keeps the members of node:http2's compatibility request and response on the objects themselves, so
 * that an app that gives them node:http's prototypes keeps them working. Express (5, and 4) does, for
 * every request: `Object.setPrototypeOf(req, app.request)`, whose chain ends in IncomingMessage's
 * prototype; an Http2ServerRequest then reads IncomingMessage's members (its `_read` wants a socket it
 * does not have, and throws outside the app's reach: the process ends). Own properties outlive the
 * prototype: each member node:http would replace (IncomingMessage's, ServerResponse's and
 * OutgoingMessage's, down to the prototype both chains share) keeps the compatibility API's.
 */
function keepOwnMembers(req: object, res: object): void {
  pin(req, membersOf(req, IncomingMessage.prototype));
  pin(res, membersOf(res, ServerResponse.prototype));
}

/** Leaves the object's own properties as they are (the socket --proxy-headers gave an HTTP/2 request). */
function pin(object: object, members: Members): void {
  for (const name of Reflect.ownKeys(members)) {
    if (!Object.hasOwn(object, name)) Object.defineProperty(object, name, members[name]!);
  }
}

function membersOf(object: object, replacing: object): Members {
  const prototype = Object.getPrototypeOf(object) as object;
  let members = ownMembers.get(prototype);
  if (members === undefined) {
    members = {};
    const own = chainOf(prototype);
    const theirs = chainOf(replacing);
    const names = new Set<string | symbol>();
    for (const link of [...own, ...theirs]) {
      if (own.includes(link) && theirs.includes(link)) continue; // Readable's, Stream's, EventEmitter's: kept either way
      for (const name of Reflect.ownKeys(link)) names.add(name);
    }
    names.delete('constructor');
    for (const name of names) {
      const descriptor = descriptorIn(prototype, name);
      if (descriptor) members[name] = descriptor;
    }
    ownMembers.set(prototype, members);
  }
  return members;
}

/** The prototypes from `prototype` up, Object.prototype left out. */
function chainOf(prototype: object | null): object[] {
  const chain: object[] = [];
  for (let link = prototype; link !== null && link !== Object.prototype; link = Object.getPrototypeOf(link) as object | null) chain.push(link);
  return chain;
}

function descriptorIn(prototype: object | null, name: string | symbol): PropertyDescriptor | undefined {
  for (let link = prototype; link !== null; link = Object.getPrototypeOf(link) as object | null) {
    const descriptor = Object.getOwnPropertyDescriptor(link, name);
    if (descriptor) return descriptor;
  }
  return undefined;
}
