import { parseArgs } from 'node:util';
import { type AppInterface, ChaussetteError, invalidOption, type Limits, parseBacklog, parseMount, parseSocketMode } from '@chaussette/core';
import type { ConfigValues } from './config.js';

export const DEFAULTS = {
  host: 'localhost',
  port: 8080,
  backlog: 2048,
  backend: 'node',
  gracefulTimeout: 30,
  logLevel: 'info',
  logOutput: '-',
  logFormat: 'text',
  accessLogFormat: 'combined',
  forwardedAllowIps: '127.0.0.1,::1',
} as const;

export const LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The resolved options, as the pre- and post-hooks receive them. */
export interface CliOptions {
  application: string | undefined;
  arguments: string[];
  /** --mount PREFIX=APPSPEC (and the application, at `/`, when there are mounts); empty without --mount. */
  mounts: { prefix: string; spec: string }[];
  host: string | undefined;
  port: string | undefined;
  fd: string | undefined;
  fdName: string | undefined;
  bind: string[];
  backlog: number;
  /** Share the ports bound with other processes (SO_REUSEPORT). */
  reusePort: boolean;
  socketMode: number | undefined;
  backend: string;
  interface: AppInterface;
  factory: boolean;
  /** Seconds. */
  gracefulTimeout: number;
  preHook: string | undefined;
  postHook: string | undefined;
  logLevel: LogLevel;
  logOutput: string;
  logFormat: 'text' | 'json';
  /** Where the access log goes (`-`: stdout); undefined: no access log. */
  accessLog: string | undefined;
  accessLogFormat: 'common' | 'combined';
  proxyHeaders: boolean;
  /** Give apps the pid, uid and gid of unix-socket clients (SO_PEERCRED). */
  peercreds: boolean;
  /** Restart the server when the app's files change (development). */
  useReloader: boolean;
  /** With proxyHeaders: the proxies trusted to set X-Forwarded-For (`*`: every peer). */
  forwardedAllowIps: string;
  /** From the config file only: options for the backend's engine (ServeOptions.backendOptions). */
  backendOptions: Record<string, unknown> | undefined;
  /** The limits given (--limit-*, --timeout-*); the backend applies core's DEFAULT_LIMITS for the rest. */
  limits: Partial<Limits>;
  /** Exit gracefully after this many responses (plus up to maxRequestsJitter), for the manager to start a fresh worker; 0: never. */
  maxRequests: number;
  maxRequestsJitter: number;
  /** A promise rejected with no handler, outside any request: stop (gracefully, exit code 1) or log it and go on. */
  onUnhandledRejection: 'exit' | 'continue';
  /** The --config file the other options may come from. */
  config: string | undefined;
  help: boolean;
  version: boolean;
}

const SPEC = {
  host: { type: 'string' },
  port: { type: 'string' },
  mount: { type: 'string', multiple: true },
  fd: { type: 'string' },
  'fd-name': { type: 'string' },
  bind: { type: 'string', short: 'b', multiple: true },
  backlog: { type: 'string' },
  'reuse-port': { type: 'boolean' },
  'socket-mode': { type: 'string' },
  backend: { type: 'string' },
  interface: { type: 'string' },
  factory: { type: 'boolean' },
  'graceful-timeout': { type: 'string' },
  'pre-hook': { type: 'string' },
  'post-hook': { type: 'string' },
  'log-level': { type: 'string' },
  'log-output': { type: 'string' },
  'log-format': { type: 'string' },
  'access-log': { type: 'string' },
  'access-log-format': { type: 'string' },
  'proxy-headers': { type: 'boolean' },
  peercreds: { type: 'boolean' },
  'use-reloader': { type: 'boolean' },
  'forwarded-allow-ips': { type: 'string' },
  'limit-request-body': { type: 'string' },
  'limit-request-line': { type: 'string' },
  'limit-request-headers': { type: 'string' },
  'timeout-headers': { type: 'string' },
  'timeout-keep-alive': { type: 'string' },
  'limit-concurrency': { type: 'string' },
  'max-requests': { type: 'string' },
  'max-requests-jitter': { type: 'string' },
  'on-unhandled-rejection': { type: 'string' },
  config: { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

export const USAGE = `Usage: chaussette [options] [application] [arguments...]

Serves a Node web app on a host:port it binds, or on a socket inherited from a process manager.

Application: path-or-package[:export], resolved from the current directory (default export
when none is named): a node (req, res) listener (Express, Connect), a fetch handler or an
object with fetch() (Hono), a Koa app, a Fastify instance. None: a built-in hello app.
Arguments after the application go to its factory (--factory).

Where to listen (default: --host localhost --port 8080, or the sockets systemd passes):
  --host HOST               host name or IP to bind (also unix:/path or fd://N)
  --port PORT               TCP port, 0 for any free port
  --fd N                    serve on inherited listening socket N (Circus, Supervisor: 0)
  --fd-name NAME            with systemd socket activation, the socket named NAME
  -b, --bind SPEC           host:port, [ipv6]:port, unix:/path or fd://N; repeatable
  --backlog N               listen backlog (default 2048)
  --reuse-port              share the port with other processes that set it (SO_REUSEPORT):
                            the kernel spreads connections over them (uws; node, fastify
                            from Node.js 22.12)
  --socket-mode MODE        file mode of a unix socket, e.g. 660

What to serve:
  --mount PREFIX=APP        serve APP under a path prefix (e.g. /api=./api.mjs); repeatable.
                            The app sees paths without it (req.baseUrl, request.baseUrl);
                            the application argument, if any, is mounted at /
  --backend NAME            server engine: node (default), fastify, uws, or a package/path
  --factory                 the export is a factory: call it with the arguments
  --interface KIND          auto (default), node for (req, res), fetch for (request)

Running:
  --graceful-timeout SECS   on SIGTERM/SIGINT, time for in-flight requests (default 30)
  --use-reloader            restart the server when a file under the current directory
                            changes (development; node_modules and dotfiles are ignored)
  --pre-hook SPEC           path[:export] of a function called with the options before serving
  --post-hook SPEC          path[:export] of a function called with the options after stopping
  --log-level LEVEL         debug, info (default), warning, error, critical
  --log-output FILE         a file to append logs to, or - for stdout (default)
  --log-format FORMAT       text (default) or json
  --access-log FILE         write an access log to FILE (- for stdout); off by default
  --access-log-format F     combined (default) or common (Apache's log formats)
  --proxy-headers           take the client address from X-Forwarded-For, from trusted proxies only
  --forwarded-allow-ips IPS the trusted proxies, comma-separated, or * (default 127.0.0.1,::1)
  --peercreds               give apps the pid, uid and gid of unix-socket clients:
                            req.peerCredentials, request.peerCredentials (node, fastify)
Limits (0 turns one off; see SECURITY.md):
  --limit-request-body BYTES   413 past this body size (default 100M; K, M, G suffixes)
  --limit-request-line BYTES   414 past this request line length (default 8190)
  --limit-request-headers BYTES 431 past this size of request line and headers (default 16K)
  --timeout-headers SECS       close a connection whose request head is late (default 10)
  --timeout-keep-alive SECS    close an idle keep-alive connection (default 5)
  --limit-concurrency N        503 past N requests in flight (default 0: no limit)
  --max-requests N             exit gracefully (code 0) after N responses, for the process
                               manager to start a fresh worker (default 0: never)
  --max-requests-jitter N      add 0 to N to --max-requests, so workers do not restart together
  --on-unhandled-rejection A   exit (default: gracefully, code 1, for the manager to restart
                               the worker) or continue, after logging it

  -c, --config FILE         options from a JSON file or a JS/TS module: the long options in
                            camelCase, plus app and arguments; flags given here win
  -h, --help                show this help
  --version                 show the version`;

// A value that starts with a dash (`--port -1`) would read as an option; keep it a value, to be validated.
const VALUE_OPTIONS = new Set(
  Object.entries(SPEC).flatMap(([name, spec]) => (spec.type === 'string' ? [`--${name}`, 'short' in spec ? `-${spec.short}` : ''] : [])),
);
function keepDashedValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    const next = argv[index + 1];
    if (VALUE_OPTIONS.has(arg) && next !== undefined && /^-\d/.test(next)) {
      out.push(arg.startsWith('--') ? `${arg}=${next}` : `${arg}${next}`);
      index++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

export interface CommandLine {
  values: ReturnType<typeof parseArgs<{ options: typeof SPEC }>>['values'];
  positionals: string[];
}

/** The flags and positionals as given, unchecked: enough to find --config before the options resolve. */
export function readCommandLine(argv: readonly string[]): CommandLine {
  try {
    return parseArgs({ args: keepDashedValues(argv), options: SPEC, allowPositionals: true, strict: true });
  } catch (error) {
    throw new ChaussetteError(`${describeParseError(error)}. Run chaussette --help for the options`, { cause: error });
  }
}

/** The options: the command line's, then the config file's (see config.ts), then the defaults. */
export function parseCommandLine(argv: readonly string[], config: ConfigValues = {}): CliOptions {
  return resolveOptions(readCommandLine(argv), config);
}

export function resolveOptions({ values: flags, positionals }: CommandLine, config: ConfigValues): CliOptions {
  const values = {
    ...flags,
    mount: flags.mount ?? (config.mounts && Object.entries(config.mounts).map(([prefix, spec]) => `${prefix}=${spec}`)),
    host: flags.host ?? config.host,
    port: flags.port ?? config.port,
    fd: flags.fd ?? config.fd,
    'fd-name': flags['fd-name'] ?? config.fdName,
    bind: flags.bind ?? config.bind,
    backlog: flags.backlog ?? config.backlog,
    'reuse-port': flags['reuse-port'] ?? config.reusePort,
    'socket-mode': flags['socket-mode'] ?? config.socketMode,
    backend: flags.backend ?? config.backend,
    interface: flags.interface ?? config.interface,
    factory: flags.factory ?? config.factory,
    'graceful-timeout': flags['graceful-timeout'] ?? config.gracefulTimeout,
    'pre-hook': flags['pre-hook'] ?? config.preHook,
    'post-hook': flags['post-hook'] ?? config.postHook,
    'log-level': flags['log-level'] ?? config.logLevel,
    'log-output': flags['log-output'] ?? config.logOutput,
    'log-format': flags['log-format'] ?? config.logFormat,
    'access-log': flags['access-log'] ?? config.accessLog,
    'access-log-format': flags['access-log-format'] ?? config.accessLogFormat,
    'proxy-headers': flags['proxy-headers'] ?? config.proxyHeaders,
    peercreds: flags.peercreds ?? config.peercreds,
    'use-reloader': flags['use-reloader'] ?? config.useReloader,
    'forwarded-allow-ips': flags['forwarded-allow-ips'] ?? config.forwardedAllowIps,
    'limit-request-body': flags['limit-request-body'] ?? config.limitRequestBody,
    'limit-request-line': flags['limit-request-line'] ?? config.limitRequestLine,
    'limit-request-headers': flags['limit-request-headers'] ?? config.limitRequestHeaders,
    'timeout-headers': flags['timeout-headers'] ?? config.timeoutHeaders,
    'timeout-keep-alive': flags['timeout-keep-alive'] ?? config.timeoutKeepAlive,
    'limit-concurrency': flags['limit-concurrency'] ?? config.limitConcurrency,
    'max-requests': flags['max-requests'] ?? config.maxRequests,
    'max-requests-jitter': flags['max-requests-jitter'] ?? config.maxRequestsJitter,
    'on-unhandled-rejection': flags['on-unhandled-rejection'] ?? config.onUnhandledRejection,
  };
  const [application, ...args] = positionals.length > 0 ? positionals : config.app === undefined ? [] : [config.app, ...(config.arguments ?? [])];
  const choice = <T extends string>(option: string, value: string | undefined, allowed: readonly T[], fallback: T): T => {
    if (value === undefined) return fallback;
    const normalized = value === 'warn' ? 'warning' : value;
    if (!(allowed as readonly string[]).includes(normalized)) throw invalidOption(option, value, `one of ${allowed.join(', ')}`);
    return normalized as T;
  };
  const mounts = (values.mount ?? []).map((text) => parseMount(text));
  if (mounts.length > 0 && application !== undefined) mounts.push({ prefix: '/', spec: application });
  const prefixes = mounts.map(({ prefix }) => prefix);
  const twice = prefixes.find((prefix, index) => prefixes.indexOf(prefix) !== index);
  if (twice) throw new ChaussetteError(`Two apps are mounted at ${twice}${twice === '/' ? ' (the application argument is mounted at /)' : ''}: give each prefix one app`);
  return {
    application,
    arguments: args,
    mounts,
    host: values.host,
    port: values.port,
    fd: values.fd,
    fdName: values['fd-name'],
    bind: values.bind ?? [],
    backlog: parseBacklog(values.backlog ?? DEFAULTS.backlog),
    reusePort: values['reuse-port'] ?? false,
    socketMode: values['socket-mode'] === undefined ? undefined : parseSocketMode(values['socket-mode']),
    backend: values.backend ?? DEFAULTS.backend,
    interface: choice('--interface', values.interface, ['auto', 'node', 'fetch'], 'auto'),
    factory: values.factory ?? false,
    gracefulTimeout: parseSeconds('--graceful-timeout', values['graceful-timeout'] ?? DEFAULTS.gracefulTimeout),
    preHook: values['pre-hook'],
    postHook: values['post-hook'],
    logLevel: choice('--log-level', values['log-level'], LOG_LEVELS, DEFAULTS.logLevel),
    logOutput: values['log-output'] ?? DEFAULTS.logOutput,
    logFormat: choice('--log-format', values['log-format'], ['text', 'json'], DEFAULTS.logFormat),
    accessLog: values['access-log'],
    accessLogFormat: choice('--access-log-format', values['access-log-format'], ['common', 'combined'], DEFAULTS.accessLogFormat),
    proxyHeaders: values['proxy-headers'] ?? false,
    peercreds: values.peercreds ?? false,
    useReloader: values['use-reloader'] ?? false,
    forwardedAllowIps: values['forwarded-allow-ips'] ?? DEFAULTS.forwardedAllowIps,
    backendOptions: config.backendOptions,
    limits: definedOnly({
      requestBodyBytes: optional(values['limit-request-body'], (value) => parseBytes('--limit-request-body', value, 0)),
      requestLineBytes: optional(values['limit-request-line'], (value) => parseBytes('--limit-request-line', value, 0)),
      requestHeadersBytes: optional(values['limit-request-headers'], (value) => parseBytes('--limit-request-headers', value, 1024)),
      headersTimeoutMs: optional(values['timeout-headers'], (value) => parseSeconds('--timeout-headers', value) * 1000),
      keepAliveTimeoutMs: optional(values['timeout-keep-alive'], (value) => parseSeconds('--timeout-keep-alive', value) * 1000),
      concurrency: optional(values['limit-concurrency'], (value) => parseCount('--limit-concurrency', value)),
    }),
    maxRequests: parseCount('--max-requests', values['max-requests'] ?? 0),
    maxRequestsJitter: parseCount('--max-requests-jitter', values['max-requests-jitter'] ?? 0),
    onUnhandledRejection: choice('--on-unhandled-rejection', values['on-unhandled-rejection'], ['exit', 'continue'], 'exit'),
    config: values.config,
    help: values.help ?? false,
    version: values.version ?? false,
  };
}

function parseSeconds(option: string, value: string | number): number {
  const seconds = Number(value);
  if (String(value).trim() === '' || !Number.isFinite(seconds) || seconds < 0) {
    throw invalidOption(option, value, 'a number of seconds, 0 or more');
  }
  return seconds;
}

const optional = <T>(value: string | undefined, parse: (value: string) => T): T | undefined => (value === undefined ? undefined : parse(value));

function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function parseCount(option: string, value: string | number): number {
  const text = String(value).trim();
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw invalidOption(option, value, 'a whole number, 0 or more');
  return Number(text);
}

const BYTE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `1048576`, `512K`, `10M`, `1G` (units of 1024). */
function parseBytes(option: string, value: string | number, minimum: number): number {
  const match = /^(\d+)\s*([kmg]?)(?:i?b)?$/i.exec(String(value).trim());
  const bytes = match ? Number(match[1]) * BYTE_UNITS[match[2]!.toLowerCase()]! : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < minimum) {
    throw invalidOption(option, value, `a size in bytes${minimum ? ` of at least ${minimum}` : ''}, with an optional K, M or G suffix`);
  }
  return bytes;
}

function describeParseError(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const option = /'(-[^' ]+)/.exec(message ?? '')?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `Unknown option ${option ?? ''}`.trim();
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return message?.includes('argument missing') ? `${option ?? 'An option'} needs a value` : `Invalid value for ${option ?? 'an option'}`;
    default:
      return message?.split('\n', 1)[0] ?? 'Invalid command line';
  }
}
