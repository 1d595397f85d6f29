// Every option of the chaussette command, once: its flag, its config-file key and type, how its value is
// checked, its default, its --help line and what the reloader's child gets. options.ts derives the
// command-line parser, the merge and --help from it; config.ts the config-file checks; reloader.ts the
// child's config. Adding an option is one entry here (and its use where main.ts consumes it).
import {
  CLIENT_CERTIFICATES,
  type ClientCertificates,
  invalidOption,
  type Limits,
  parseBacklog,
  parseFd,
  parseMount,
  parsePort,
  parseSocketMode,
  parseTrustedProxies,
} from '@chaussette/core';

/** A value's type in the config file, as its error message names it. */
export type ConfigType = 'string' | 'number or string' | 'boolean' | 'array of strings' | 'object' | 'object of strings';

/** A config value, as the command line would give it (a number or string becomes a string). */
export type ConfigValue = string | boolean | string[] | Record<string, unknown>;

/** Where to listen when neither an address nor a socket is given (acquireListenTargets' fallback). */
export const DEFAULT_LISTEN = { host: 'localhost', port: 8080 };

/** The sections of --help, in order; each option names its own. */
export const HELP_SECTIONS = {
  listen: `Where to listen (default: --host ${DEFAULT_LISTEN.host} --port ${DEFAULT_LISTEN.port}, or the sockets systemd passes):`,
  tls: 'TLS and HTTP/2 (see docs/deployment.md; SIGHUP re-reads the files):',
  serve: 'What to serve:',
  running: 'Running:',
  limits: 'Limits (0 turns one off; see SECURITY.md):',
  command: '',
} as const;

export const HELP_INTRO = `Usage: chaussette [options] [application] [arguments...]

Serves a Node web app on a host:port it binds, or on a socket inherited from a process manager.

Application: path-or-package[:export], resolved from the current directory (default export
when none is named): a node (req, res) listener (Express, Connect), a fetch handler or an
object with fetch() (Hono), either with Bun-style websocket handlers, a Koa app, a Fastify
instance or plugin, a NestJS module or application, an http.Server that does not listen yet;
or a framework's production build by its directory: build (SvelteKit), .output (Nuxt, Nitro),
dist (Astro), .next (Next.js). --factory: a function that returns one. None: a built-in
hello app. Arguments after the application go to its factory (--factory).`;

interface OptionFields {
  /**
   * Its type in the config file. On the command line, 'boolean' is a flag without a value, a list
   * type a flag that repeats, and any other a flag with a value (always text).
   */
  type: ConfigType;
  /** The config-file key: the table's key unless given; false: the command line only. */
  key?: string | false;
  /** Checks the value given (command line or config file) and converts it; none: the value as given. */
  parse?: (given: never, option: string) => unknown;
  /** When neither the command line nor the config file gives it. */
  default?: unknown;
  /** The field of CliOptions.limits it sets, instead of an option of its own. */
  limit?: keyof Limits;
  /** What the reloader's child gets, as a config value: false, nothing; none, the value itself (a number as text). */
  child?: false | ((value: never, options: never) => ConfigValue | undefined);
}

interface FlagOption extends OptionFields {
  /** The long flag, without the dashes. */
  flag: string;
  short?: string;
  /** The value's name in --help; none for a boolean flag. */
  valueName?: string;
  /** A value to show when the flag is given without one (`--bind needs a value, e.g. --bind 0.0.0.0:8000`). */
  example?: string;
  section: keyof typeof HELP_SECTIONS;
  /** Its --help description, a string per line. */
  help: string | readonly string[];
}

/** An option of the config file (or the positionals) only. */
interface FileOption extends OptionFields {
  flag?: undefined;
}

export type OptionSpec = FlagOption | FileOption;

export const LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

// The order is the config file's list of known keys; --help groups by section, in this order within each.
export const OPTIONS = {
  /** The application argument (path-or-package[:export]), or the config file's `app`. */
  application: {
    type: 'string', key: 'app',
    child: (application: string, options: { mounts: unknown[] }) => (options.mounts.length > 0 ? undefined : application), // the mounts hold it, at /
  },
  arguments: { type: 'array of strings', default: [] },
  /** --mount PREFIX=APPSPEC (and the application, at `/`, when there are mounts); empty without --mount. */
  mounts: {
    flag: 'mount', valueName: 'PREFIX=APP', example: '/api=./api.mjs', type: 'object of strings', default: [],
    parse: (given: string[] | Record<string, string>) => mountTexts(given).map((text) => parseMount(text)),
    child: (mounts: { prefix: string; spec: string }[]) => (mounts.length > 0 ? Object.fromEntries(mounts.map(({ prefix, spec }) => [prefix, spec])) : undefined),
    section: 'serve',
    help: [
      'serve APP under a path prefix (e.g. /api=./api.mjs); repeatable.',
      'The app sees paths without it (req.baseUrl, request.baseUrl);',
      'the application argument, if any, is mounted at /',
    ],
  },
  // Where to listen is not for the reloader's child: it gets the reloader's sockets, as fds.
  host: {
    flag: 'host', valueName: 'HOST', example: '0.0.0.0', type: 'string', child: false,
    section: 'listen', help: 'host name or IP to bind (also unix:/path or fd://N)',
  },
  port: {
    flag: 'port', valueName: 'PORT', example: '8000', type: 'number or string', parse: parsePort, child: false,
    section: 'listen', help: 'TCP port, 0 for any free port',
  },
  fd: {
    flag: 'fd', valueName: 'N', example: '3', type: 'number or string', parse: parseFd, child: false,
    section: 'listen', help: 'serve on inherited listening socket N (Circus, Supervisor: 0)',
  },
  fdName: {
    flag: 'fd-name', valueName: 'NAME', example: 'web', type: 'string', child: false,
    section: 'listen', help: 'with systemd socket activation, the socket named NAME',
  },
  bind: {
    flag: 'bind', short: 'b', valueName: 'SPEC', example: '0.0.0.0:8000', type: 'array of strings', default: [], child: false,
    section: 'listen', help: 'host:port, [ipv6]:port, unix:/path or fd://N; repeatable',
  },
  backlog: {
    flag: 'backlog', valueName: 'N', example: '4096', type: 'number or string', default: 2048, parse: parseBacklog,
    section: 'listen', help: 'listen backlog (default 2048)',
  },
  /** Share the ports bound with other processes (SO_REUSEPORT). */
  reusePort: {
    flag: 'reuse-port', type: 'boolean', default: false, child: false, // refused with --use-reloader
    section: 'listen',
    help: [
      'share the port with other processes that set it (SO_REUSEPORT):',
      'the kernel spreads connections over them (uws; node, fastify',
      'from Node.js 22.12)',
    ],
  },
  socketMode: {
    flag: 'socket-mode', valueName: 'MODE', example: '660', type: 'string', parse: parseSocketMode, child: false, // the reloader makes the socket file
    section: 'listen', help: 'file mode of a unix socket, e.g. 660',
  },
  certfile: {
    flag: 'certfile', valueName: 'FILE', example: 'cert.pem', type: 'array of strings', default: [],
    section: 'tls',
    help: [
      'serve TLS with this PEM certificate (and its chain); repeatable:',
      'each handshake gets the one whose names match its SNI, else the first',
    ],
  },
  keyfile: {
    flag: 'keyfile', valueName: 'FILE', example: 'key.pem', type: 'array of strings', default: [],
    section: 'tls', help: ['the PEM private key of each --certfile, in the same order; an', 'encrypted key\'s password in CHAUSSETTE_KEYFILE_PASSWORD'],
  },
  keyfilePasswordFile: {
    flag: 'keyfile-password-file', valueName: 'FILE', example: '/run/secrets/key-password', type: 'string',
    section: 'tls', help: 'or read that password from FILE',
  },
  caCerts: {
    flag: 'ca-certs', valueName: 'FILE', example: 'ca.pem', type: 'string',
    section: 'tls', help: 'PEM certificates of the CAs that sign client certificates',
  },
  certReqs: {
    flag: 'cert-reqs', valueName: 'R', example: 'required', type: 'number or string', default: 'none', parse: parseCertReqs,
    section: 'tls', help: ['client certificates: none (default), optional or required', '(checked against --ca-certs)'],
  },
  ciphers: {
    flag: 'ciphers', valueName: 'LIST', example: 'ECDHE+AESGCM', type: 'string',
    section: 'tls', help: ["OpenSSL cipher list (default: TLS 1.3's, and ECDHE with AEAD for", 'TLS 1.2; TLS 1.0 and 1.1 are never offered)'],
  },
  noHttp2: {
    flag: 'no-http2', type: 'boolean', default: false,
    section: 'tls', help: 'with TLS, offer HTTP/1.1 only (default: h2 too, by ALPN; node, fastify)',
  },
  h2c: {
    flag: 'h2c', type: 'boolean', default: false,
    section: 'tls', help: ['without TLS, also accept HTTP/2 with prior knowledge (h2c) on', 'the same sockets as HTTP/1.1 (node, fastify)'],
  },
  backend: {
    flag: 'backend', valueName: 'NAME', example: 'fastify', type: 'string', default: 'node',
    section: 'serve', help: 'server engine: node (default), fastify, uws, or a package/path',
  },
  /** uws: chunked request bodies taken (backendOptions.chunkedBehindProxy), not refused with 411. */
  uwsChunkedBehindProxy: {
    flag: 'uws-chunked-behind-proxy', type: 'boolean', default: false,
    section: 'serve',
    help: [
      'uws: accept chunked request bodies instead of refusing them (411);',
      "uWS's own chunk parser lets a malformed body smuggle a request:",
      'only behind a proxy that re-frames request bodies (SECURITY.md)',
    ],
  },
  /** From the config file only: options for the backend's engine (ServeOptions.backendOptions). */
  backendOptions: { type: 'object' },
  factory: {
    flag: 'factory', type: 'boolean', default: false,
    section: 'serve', help: 'the export is a factory: call it with the arguments',
  },
  interface: {
    flag: 'interface', valueName: 'KIND', example: 'fetch', type: 'string', default: 'auto', parse: oneOf(['auto', 'node', 'fetch']),
    section: 'serve', help: 'auto (default), node for (req, res), fetch for (request)',
  },
  /** Seconds. */
  gracefulTimeout: {
    flag: 'graceful-timeout', valueName: 'SECS', example: '25', type: 'number or string', default: 30, parse: parseSeconds,
    section: 'running', help: 'on SIGTERM/SIGINT, time for in-flight requests (default 30)',
  },
  /** Restart the server when the app's files change (development). */
  useReloader: {
    flag: 'use-reloader', type: 'boolean', default: false, child: false, // the child only serves
    section: 'running',
    help: [
      'restart the server when a module it loaded or a source file under',
      "the app's directory changes (development; *.js, *.mjs, *.cjs, *.ts,",
      '*.mts, *.cts; node_modules and dot-directories are ignored)',
    ],
  },
  // What --use-reloader watches (reloader.ts refuses them without it); the reloader's child only serves.
  reloadDirs: {
    flag: 'reload-dir', valueName: 'DIR', example: 'src', type: 'array of strings', default: [], child: false,
    section: 'running', help: ["look for source files under DIR instead of the app's directory;", 'repeatable'],
  },
  reloadIncludes: {
    flag: 'reload-include', valueName: 'GLOB', example: '*.html', type: 'array of strings', default: [], child: false,
    section: 'running', help: ['also reload for files matching GLOB there (e.g. *.html, *.json);', 'repeatable'],
  },
  reloadExcludes: {
    flag: 'reload-exclude', valueName: 'GLOB', example: 'uploads', type: 'array of strings', default: [], child: false,
    section: 'running', help: ['never reload for files or directories matching GLOB (e.g.', 'uploads, src/generated/*.js); repeatable'],
  },
  preHook: {
    flag: 'pre-hook', valueName: 'SPEC', example: './hooks.mjs:before', type: 'string',
    section: 'running', help: 'path[:export] of a function called with the options before serving',
  },
  postHook: {
    flag: 'post-hook', valueName: 'SPEC', example: './hooks.mjs:after', type: 'string',
    section: 'running', help: 'path[:export] of a function called with the options after stopping',
  },
  logLevel: {
    flag: 'log-level', valueName: 'LEVEL', example: 'debug', type: 'string', default: 'info', parse: parseLogLevel,
    section: 'running', help: 'debug, info (default), warning, error, critical',
  },
  logOutput: {
    flag: 'log-output', valueName: 'FILE', example: 'chaussette.log', type: 'string', default: '-',
    section: 'running', help: 'a file to append logs to, or - for stdout (default)',
  },
  logFormat: {
    flag: 'log-format', valueName: 'FORMAT', example: 'json', type: 'string', default: 'text', parse: oneOf(['text', 'json']),
    section: 'running', help: 'text (default) or json',
  },
  /** Where the access log goes (`-`: stdout); undefined: no access log. */
  accessLog: {
    flag: 'access-log', valueName: 'FILE', example: 'access.log', type: 'string',
    section: 'running', help: 'write an access log to FILE (- for stdout); off by default',
  },
  accessLogFormat: {
    flag: 'access-log-format', valueName: 'F', example: 'common', type: 'string', default: 'combined', parse: oneOf(['common', 'combined']),
    section: 'running', help: "combined (default) or common (Apache's log formats)",
  },
  proxyHeaders: {
    flag: 'proxy-headers', type: 'boolean', default: false,
    section: 'running', help: 'take the client address from X-Forwarded-For, from trusted proxies only',
  },
  /** With proxyHeaders: the proxies trusted to set X-Forwarded-For (`*`: every peer). */
  forwardedAllowIps: {
    flag: 'forwarded-allow-ips', valueName: 'IPS', example: '10.0.0.1,10.0.0.2', type: 'string', default: '127.0.0.1,::1,unix', parse: checkedTrustedProxies,
    section: 'running', help: [
      'the trusted proxies, comma-separated: IP addresses, networks (10.0.0.0/8),',
      'unix (peers on a unix socket), or * for every peer (default 127.0.0.1,::1,unix)',
    ],
  },
  /** Give apps the pid, uid and gid of unix-socket clients (SO_PEERCRED). */
  peercreds: {
    flag: 'peercreds', type: 'boolean', default: false,
    section: 'running',
    help: [
      'give apps the pid, uid and gid of unix-socket clients:',
      'req.peerCredentials, request.peerCredentials (node, fastify)',
    ],
  },
  limitRequestBody: {
    flag: 'limit-request-body', valueName: 'BYTES', example: '10M', type: 'number or string', limit: 'requestBodyBytes', parse: parseBytes,
    section: 'limits', help: '413 past this body size (default 100M; K, M, G suffixes)',
  },
  limitRequestLine: {
    flag: 'limit-request-line', valueName: 'BYTES', example: '8190', type: 'number or string', limit: 'requestLineBytes', parse: parseBytes,
    section: 'limits', help: '414 past this request line length (default 8190)',
  },
  limitRequestHeaders: {
    flag: 'limit-request-headers', valueName: 'BYTES', example: '16K', type: 'number or string', limit: 'requestHeadersBytes',
    parse: (value: string, option: string) => parseBytes(value, option, 1024),
    section: 'limits', help: '431 past this size of request line and headers (default 16K)',
  },
  limitRequestFields: {
    flag: 'limit-request-fields', valueName: 'N', example: '100', type: 'number or string', limit: 'requestFields', parse: parseCount,
    section: 'limits', help: '431 past N header fields (default 100; 0: no limit)',
  },
  timeoutHeaders: {
    flag: 'timeout-headers', valueName: 'SECS', example: '10', type: 'number or string', limit: 'headersTimeoutMs', parse: parseMilliseconds, child: inSeconds,
    section: 'limits', help: 'close a connection whose request head is late (default 10)',
  },
  timeoutKeepAlive: {
    flag: 'timeout-keep-alive', valueName: 'SECS', example: '5', type: 'number or string', limit: 'keepAliveTimeoutMs', parse: parseMilliseconds, child: inSeconds,
    section: 'limits', help: 'close an idle keep-alive connection (default 5)',
  },
  limitConcurrency: {
    flag: 'limit-concurrency', valueName: 'N', example: '1000', type: 'number or string', limit: 'concurrency', parse: parseCount,
    section: 'limits', help: '503 past N requests in flight (default 0: no limit)',
  },
  /** Exit gracefully after this many responses (plus up to maxRequestsJitter), for the manager to start a fresh worker; 0: never. */
  maxRequests: {
    flag: 'max-requests', valueName: 'N', example: '10000', type: 'number or string', default: 0, parse: parseCount, child: false, // refused with --use-reloader
    section: 'limits',
    help: [
      'exit gracefully (code 0) after N responses, for the process',
      'manager to start a fresh worker (default 0: never)',
    ],
  },
  maxRequestsJitter: {
    flag: 'max-requests-jitter', valueName: 'N', example: '1000', type: 'number or string', default: 0, parse: parseCount, child: false, // goes with --max-requests
    section: 'limits', help: 'add 0 to N to --max-requests, so workers do not restart together',
  },
  /** A promise rejected with no handler, outside any request: stop (gracefully, exit code 1) or log it and go on. */
  onUnhandledRejection: {
    flag: 'on-unhandled-rejection', valueName: 'A', example: 'continue', type: 'string', default: 'exit', parse: oneOf(['exit', 'continue']),
    section: 'limits',
    help: [
      'exit (default: gracefully, code 1, for the manager to restart',
      'the worker) or continue, after logging it',
    ],
  },
  /** The --config file the other options may come from. */
  config: {
    flag: 'config', short: 'c', valueName: 'FILE', example: 'chaussette.json', type: 'string', key: false,
    section: 'command',
    help: [
      'options from a JSON file or a JS/TS module: the long options in',
      'camelCase, plus app and arguments; flags given here win',
    ],
  },
  help: {
    flag: 'help', short: 'h', type: 'boolean', key: false, default: false,
    section: 'command', help: 'show this help',
  },
  version: {
    flag: 'version', type: 'boolean', key: false, default: false,
    section: 'command', help: 'show the version',
  },
} as const satisfies Record<string, OptionSpec>;

type Table = typeof OPTIONS;
export type OptionName = keyof Table;

/** The table's entries, in order. */
export const OPTION_ENTRIES = Object.entries(OPTIONS) as [OptionName, OptionSpec][];

/** An option's config-file key; undefined for a command-line-only one. */
export function configKeyOf(name: OptionName, option: OptionSpec): string | undefined {
  return option.key === undefined ? name : option.key || undefined;
}

/** A value given in the config file, once checked (config.ts); a mount list is still the file's object. */
type ConfigValueOf<T extends ConfigType> = T extends 'boolean'
  ? boolean
  : T extends 'array of strings'
    ? string[]
    : T extends 'object'
      ? Record<string, unknown>
      : T extends 'object of strings'
        ? Record<string, string>
        : string;

/** A value given on the command line. */
export type FlagValueOf<T extends ConfigType> = T extends 'boolean' ? boolean : T extends 'array of strings' | 'object of strings' ? string[] : string;

/** What its parser returns, else the value as given; or undefined, without a default. */
type ResolvedOf<Option> =
  | (Option extends { parse: (...args: never[]) => infer Parsed } ? Parsed : Option extends { type: infer T extends ConfigType } ? ConfigValueOf<T> : never)
  | (Option extends { default: unknown } ? never : undefined);

type ConfigKey<Name extends OptionName> = Table[Name] extends { key: false } ? never : Table[Name] extends { key: infer Key extends string } ? Key : Name;

/** A config file's values, as the command line would give them: strings, string lists, booleans (and two objects). */
export type ConfigValues = { -readonly [Name in OptionName as ConfigKey<Name>]?: ConfigValueOf<Table[Name]['type']> };

type OwnOptions = { -readonly [Name in OptionName as Table[Name] extends { limit: string } ? never : Name]: ResolvedOf<Table[Name]> };

/** The resolved options, as the pre- and post-hooks receive them. */
export interface CliOptions extends OwnOptions {
  /** The limits given (--limit-*, --timeout-*); the backend applies core's DEFAULT_LIMITS for the rest. */
  limits: Partial<Limits>;
}

function mountTexts(given: string[] | Record<string, string>): string[] {
  return Array.isArray(given) ? given : Object.entries(given).map(([prefix, spec]) => `${prefix}=${spec}`);
}

function oneOf<const T extends string>(allowed: readonly T[]): (value: string, option: string) => T {
  return (value, option) => {
    if (!(allowed as readonly string[]).includes(value)) throw invalidOption(option, value, `one of ${allowed.join(', ')}`);
    return value as T;
  };
}

/** Checked whether or not --proxy-headers is given (a typo stays a typo); kept as given, for main.ts and the reloader's child. */
function checkedTrustedProxies(value: string, option: string): string {
  parseTrustedProxies(value, option);
  return value;
}

const logLevel = oneOf(LOG_LEVELS);
function parseLogLevel(value: string, option: string): LogLevel {
  return logLevel(value === 'warn' ? 'warning' : value, option); // pino's name for it
}

/** none, optional, required; or gunicorn's 0, 1, 2 (ssl.CERT_NONE…). */
function parseCertReqs(value: string | number, option: string): ClientCertificates {
  const text = String(value).trim().toLowerCase();
  const byNumber = /^[012]$/.test(text) ? CLIENT_CERTIFICATES[Number(text)] : undefined;
  if (byNumber) return byNumber;
  if ((CLIENT_CERTIFICATES as readonly string[]).includes(text)) return text as ClientCertificates;
  throw invalidOption(option, value, 'none, optional or required');
}

function parseSeconds(value: string | number, option: string): number {
  const seconds = Number(value);
  if (String(value).trim() === '' || !Number.isFinite(seconds) || seconds < 0) {
    throw invalidOption(option, value, 'a number of seconds, 0 or more');
  }
  return seconds;
}

/** Given in seconds, kept in milliseconds (core's Limits). */
function parseMilliseconds(value: string, option: string): number {
  return parseSeconds(value, option) * 1000;
}

function inSeconds(milliseconds: number): string {
  return String(milliseconds / 1000);
}

function parseCount(value: string | number, option: string): number {
  const text = String(value).trim();
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw invalidOption(option, value, 'a whole number, 0 or more');
  return Number(text);
}

const BYTE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `1048576`, `512K`, `10M`, `1G` (units of 1024). */
function parseBytes(value: string | number, option: string, minimum = 0): number {
  const match = /^(\d+)\s*([kmg]?)(?:i?b)?$/i.exec(String(value).trim());
  const bytes = match ? Number(match[1]) * BYTE_UNITS[match[2]!.toLowerCase()]! : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < minimum) {
    throw invalidOption(option, value, `a size in bytes${minimum ? ` of at least ${minimum}` : ''}, with an optional K, M or G suffix`);
  }
  return bytes;
}
