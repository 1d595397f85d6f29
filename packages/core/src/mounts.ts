// --mount PREFIX=APP: several apps in one server, each under a path prefix, as cheroot's dispatcher
// does. A request goes to the longest prefix that matches on a segment boundary (`/api` takes `/api`
// and `/api/x`, not `/apix`); the app sees the path without its prefix, and the prefix on the side:
// `req.baseUrl` for node apps (Express reads it), `request.baseUrl` for fetch apps.
import type { IncomingMessage } from 'node:http';
import type { App, FetchApp, FetchHandler, NodeApp, NodeListener } from './backend.js';
import { ChaussetteError } from './errors.js';
import { keepingHttp2Members } from './http2-compat.js';

export interface Mount {
  /** `/` or a path without a trailing slash: `/api`, `/admin/v2`. */
  prefix: string;
  app: App;
}

/** Splits and checks `PREFIX=APPSPEC` (the --mount flag); the prefix loses a trailing slash. */
export function parseMount(text: string, option = '--mount'): { prefix: string; spec: string } {
  const equals = text.indexOf('=');
  const spec = text.slice(equals + 1);
  if (equals === -1 || spec === '') throw new ChaussetteError(`Invalid ${option} ${JSON.stringify(text)}: expected PREFIX=APP, e.g. ${option} /api=./api.mjs`);
  return { prefix: normalizePrefix(text.slice(0, equals), option, text), spec };
}

// Path segments of RFC 3986 characters, as a request path arrives (percent-encoded), without `.` or `..`.
const PREFIX = /^\/$|^(?:\/(?!\.{1,2}(?:\/|$))[A-Za-z0-9\-._~!$&'()*+,;=:@%]+)+\/?$/;

function normalizePrefix(prefix: string, option: string, text = prefix): string {
  if (!PREFIX.test(prefix)) {
    throw new ChaussetteError(
      `Invalid ${option} ${JSON.stringify(text)}: the prefix must be a path such as /api (starting with /; letters, digits and -._~!$&'()*+,;=:@%, percent-encoded otherwise; no . or .. segments)`,
    );
  }
  return prefix.length > 1 && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}

/** Two apps at one prefix are an error; `rootHint` says where the one at `/` comes from. */
export function refuseSharedPrefixes(prefixes: readonly string[], rootHint = ''): void {
  const twice = prefixes.find((prefix, index) => prefixes.indexOf(prefix) !== index);
  if (twice) throw new ChaussetteError(`Two apps are mounted at ${twice}${twice === '/' ? rootHint : ''}: give each prefix one app`);
}

/**
 * One app that serves every mount. All fetch apps: a fetch app. Otherwise a node app, with the fetch
 * apps made node listeners by `asListener` (a backend's bridge).
 */
export function composeMounts(mounts: readonly Mount[], asListener: (app: FetchApp) => NodeListener): App {
  refuseSharedPrefixes(mounts.map(({ prefix }) => prefix));
  // Longest first: the first match is the longest.
  const sorted = [...mounts].sort((a, b) => b.prefix.length - a.prefix.length);
  const common = {
    description: `${mounts.length} apps by path prefix: ${[...mounts].sort((a, b) => a.prefix.localeCompare(b.prefix)).map(({ prefix, app }) => `${prefix} → ${app.description}`).join(', ')}`,
    source: undefined,
    ready: async () => void (await Promise.all(mounts.map(async ({ app }) => app.ready?.()))),
    close: async () => void (await Promise.all(mounts.map(async ({ app }) => app.close?.()))),
  };
  const withWebSockets = mounts.filter(({ app }) => app.kind === 'fetch' && app.websocket);
  if (mounts.every(({ app }) => app.kind === 'fetch')) {
    if (withWebSockets.length > 1) {
      throw new ChaussetteError(`WebSocket handlers come from one mounted app only, and ${withWebSockets.map(({ prefix }) => prefix).join(' and ')} both have them: serve one of them on its own`);
    }
    const websocket = (withWebSockets[0]?.app as FetchApp | undefined)?.websocket;
    return { kind: 'fetch', fetch: fetchDispatcher(sorted.map(({ prefix, app }) => ({ prefix, fetch: (app as FetchApp).fetch }))), ...common, ...(websocket && { websocket }) };
  }
  // Read before ready(): a Fastify instance's own listeners come later, and go unmounted.
  const upgrading = mounts.find(({ app }) => app.kind === 'node' && app.upgrade);
  if (upgrading) {
    throw new ChaussetteError(`The app at ${upgrading.prefix} handles upgrade requests itself (ws, socket.io), which a mounted app cannot: serve it on its own`);
  }
  if (withWebSockets.length > 0) {
    throw new ChaussetteError(`The app at ${withWebSockets[0]!.prefix} has WebSocket handlers, which mount beside fetch apps only, not beside node apps: serve it on its own`);
  }
  // Each node app learns on its own whether it swaps prototypes (see keepingHttp2Members).
  const listeners = sorted.map(({ prefix, app }) => ({ prefix, listener: app.kind === 'node' ? keepingHttp2Members(app.listener) : asListener(app) }));
  return { kind: 'node', listener: nodeDispatcher(listeners), ...common } satisfies NodeApp;
}

/** The mount for `path`, and the path its app sees; undefined when no prefix matches. */
function route<T extends { prefix: string }>(mounts: readonly T[], path: string): { mount: T; rest: string } | undefined {
  for (const mount of mounts) {
    const { prefix } = mount;
    if (prefix === '/') return { mount, rest: path };
    if (path.startsWith(prefix) && (path.length === prefix.length || path[prefix.length] === '/' || path[prefix.length] === '?')) {
      const rest = path.slice(prefix.length);
      return { mount, rest: rest.startsWith('/') ? rest : `/${rest}` };
    }
  }
  return undefined;
}

const NOT_FOUND = 'Not Found: no app is mounted at this path\n';
const EXTRAS = ['ip', 'peerCredentials'];

/**
 * The request target as the fetch dispatcher routes it (WHATWG URL's path: `..`, `%2e` and `\\`
 * resolved, an absolute-form target reduced to its path), so that `/api/../admin` goes to the same app
 * whatever the app kinds. Targets without those characters, nearly all, are taken as they are.
 */
function normalizedTarget(target: string): string {
  if (target.startsWith('/') && !/[.%\\]/.test(target)) return target;
  const url = new URL(target, 'http://mount.invalid');
  return url.pathname + url.search;
}

function nodeDispatcher(mounts: readonly { prefix: string; listener: NodeListener }[]): NodeListener {
  return (req, res) => {
    const url = req.url ?? '/';
    const found = route(mounts, normalizedTarget(url));
    if (!found) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(NOT_FOUND);
      return;
    }
    const { mount, rest } = found;
    if (mount.prefix !== '/') {
      const mounted = req as IncomingMessage & { baseUrl?: string; originalUrl?: string };
      mounted.originalUrl ??= url;
      mounted.baseUrl = (mounted.baseUrl ?? '') + mount.prefix;
      req.url = rest;
    }
    return mount.listener(req, res);
  };
}

function fetchDispatcher(mounts: readonly { prefix: string; fetch: FetchHandler }[]): FetchHandler {
  return (request, server) => {
    const url = new URL(request.url);
    const found = route(mounts, url.pathname);
    if (!found) return new Response(NOT_FOUND, { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    const { mount, rest } = found;
    if (mount.prefix === '/') return mount.fetch(request, server);
    url.pathname = rest;
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
    const mounted = new Request(url, {
      method: request.method,
      headers: request.headers,
      body: hasBody ? request.body : null,
      signal: request.signal,
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    Object.defineProperty(mounted, 'baseUrl', { value: mount.prefix, enumerable: true });
    // What chaussette's requests carry beside the standard (`ip`, `peerCredentials`) carries over.
    for (const key of EXTRAS) if (key in request) Object.defineProperty(mounted, key, { value: (request as unknown as Record<string, unknown>)[key], enumerable: true });
    return mount.fetch(mounted, server);
  };
}
