// node:http2's compatibility API (Http2ServerRequest, Http2ServerResponse) is close to node:http's, and
// node apps and their frameworks trip over where it is not. A node app gets an HTTP/2 request as an
// HTTP/2-to-HTTP/1.1 gateway would hand it on (RFC 9113 §8.3.1), on objects that behave as node:http's.
import { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeListener } from './backend.js';

/**
 * Makes an HTTP/2 request and its response look, to a node app, as node:http's: headers without
 * pseudo-headers, with the fields a gateway adds (see http1Headers), and a response that drops a status
 * message quietly and has node:http's `_implicitHeader()` (see RESPONSE_MEMBERS). Once per request; for
 * an app that swaps prototypes, see keepingHttp2Members().
 */
export function asHttp1Exchange(req: IncomingMessage, res: ServerResponse): void {
  const headers = http1Headers(req);
  Object.defineProperty(req, 'headers', { value: headers, writable: true, configurable: true, enumerable: true });
  Object.defineProperty(req, 'rawHeaders', { value: rawHeadersOf(headers), writable: true, configurable: true });
  Object.defineProperties(res, responseMembers(res));
}

/**
 * `listener`, for an app that may give its requests and responses node:http's prototypes (Express does:
 * see keepOwnMembers). Their HTTP/2 members are kept as own properties on the first HTTP/2 request, and on
 * every one after it if the app swapped that one's prototype; an app that did not (Koa, Next.js…) pays
 * nothing more. A later request whose prototype was swapped anyway (a mounted app's) gets them as soon as
 * the app returns, before the body is read.
 */
export function keepingHttp2Members(listener: NodeListener): NodeListener {
  let swaps: boolean | undefined;
  return (req, res) => {
    if (req.httpVersionMajor !== 2) return listener(req, res);
    const requestPrototype = Object.getPrototypeOf(req) as object;
    const responsePrototype = Object.getPrototypeOf(res) as object;
    if (swaps !== false) keepOwnMembers(req, requestPrototype, res, responsePrototype);
    try {
      return listener(req, res);
    } finally {
      const swapped = Object.getPrototypeOf(req) !== requestPrototype || Object.getPrototypeOf(res) !== responsePrototype;
      if (swapped && swaps === false) keepOwnMembers(req, requestPrototype, res, responsePrototype);
      swaps ||= swapped;
    }
  };
}

function rawHeadersOf(headers: IncomingMessage['headers']): string[] {
  const raw: string[] = [];
  for (const name in headers) {
    const value = headers[name]!;
    if (Array.isArray(value)) for (const each of value) raw.push(name, each);
    else raw.push(name, value);
  }
  return raw;
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
 * and compression middleware (Next.js's) calls, writes the head as node:http's does. Made once per
 * response prototype, shared by its responses.
 */
const RESPONSE_MEMBERS = new WeakMap<object, PropertyDescriptorMap>();

function responseMembers(res: ServerResponse): PropertyDescriptorMap {
  const prototype = Object.getPrototypeOf(res) as ServerResponse;
  let members = RESPONSE_MEMBERS.get(prototype);
  if (members === undefined) {
    const writeHead = prototype.writeHead as (...args: unknown[]) => ServerResponse;
    members = {
      statusMessage: { get: () => '', set: () => {}, configurable: true },
      writeHead: {
        value(this: ServerResponse, statusCode: number, ...rest: unknown[]) {
          return writeHead.call(this, statusCode, ...(typeof rest[0] === 'string' ? rest.slice(1) : rest));
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
    };
    RESPONSE_MEMBERS.set(prototype, members);
  }
  return members;
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
function keepOwnMembers(req: object, requestPrototype: object, res: object, responsePrototype: object): void {
  pin(req, membersOf(requestPrototype, IncomingMessage.prototype));
  pin(res, membersOf(responsePrototype, ServerResponse.prototype));
}

/** Leaves the object's own properties as they are (headers and writeHead above, the socket --proxy-headers gave). */
function pin(object: object, members: Members): void {
  for (const name of Reflect.ownKeys(members)) {
    if (!Object.hasOwn(object, name)) Object.defineProperty(object, name, members[name]!);
  }
}

function membersOf(prototype: object, replacing: object): Members {
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
