// node:http2's compatibility API (Http2ServerRequest, Http2ServerResponse) is close to node:http's, and
// node apps and their frameworks trip over where it is not. A node app gets an HTTP/2 request as an
// HTTP/2-to-HTTP/1.1 gateway would hand it on (RFC 9113 §8.3.1), on objects that behave as node:http's.
import { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Makes an HTTP/2 request and its response look, to a node app, as node:http's: headers without
 * pseudo-headers, with the fields a gateway adds (see http1Headers); the compatibility API's members kept
 * when the app swaps prototypes (see keepOwnMembers); and the members of node:http's response that
 * frameworks call (`_implicitHeader`), or that warn on HTTP/2 (a status message, which HTTP/2 has not).
 */
export function asHttp1Exchange(req: IncomingMessage, res: ServerResponse): void {
  // Own properties, before keepOwnMembers(), which leaves own properties as they are.
  const headers = http1Headers(req);
  Object.defineProperty(req, 'headers', { value: headers, writable: true, configurable: true, enumerable: true });
  Object.defineProperty(req, 'rawHeaders', { value: Object.entries(headers).flatMap(([name, value]) => (Array.isArray(value) ? value.flatMap((each) => [name, each]) : [name, value])), writable: true, configurable: true });
  keepOwnMembers(req, res);
  withoutStatusMessage(res);
}

/**
 * The request's fields, pseudo-headers left out, in a plain object (node:http2's has no prototype:
 * `headers.hasOwnProperty()` throws in Next.js), with what a gateway adds: `host` from `:authority`
 * (Express's req.hostname; `new URL(req.url, \`http://${req.headers.host}\`)`), and
 * `transfer-encoding: chunked` for a body without a Content-Length (body parsers read a body only when
 * one of the two says there is one).
 */
function http1Headers(req: IncomingMessage): IncomingMessage['headers'] {
  const headers: IncomingMessage['headers'] = {};
  for (const [name, value] of Object.entries(req.headers)) if (!name.startsWith(':')) headers[name] = value;
  const authority = req.headers[':authority'];
  if (headers.host === undefined && typeof authority === 'string') headers.host = authority;
  const stream = (req as { stream?: { endAfterHeaders?: boolean } }).stream;
  if (headers['content-length'] === undefined && stream?.endAfterHeaders === false) headers['transfer-encoding'] = 'chunked';
  return headers;
}

/**
 * HTTP/2 has no reason phrase: node:http2 warns when one is set or read. A node app's reason phrase is
 * dropped quietly instead, as a gateway would; and `_implicitHeader()`, which node:http's response has
 * and compression middleware (Next.js's) calls, writes the head as node:http's does.
 */
function withoutStatusMessage(res: ServerResponse): void {
  const writeHead = res.writeHead;
  Object.defineProperties(res, {
    statusMessage: { get: () => '', set: () => {}, configurable: true },
    writeHead: {
      value(this: ServerResponse, statusCode: number, ...rest: unknown[]) {
        return (writeHead as (...args: unknown[]) => ServerResponse).call(this, statusCode, ...(typeof rest[0] === 'string' ? rest.slice(1) : rest));
      },
      writable: true,
      configurable: true,
    },
    _implicitHeader: {
      value(this: ServerResponse) {
        this.writeHead(this.statusCode);
      },
      writable: true,
      configurable: true,
    },
  });
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
