import cluster from 'node:cluster';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AccessEntry,
  acquireListenTargets,
  type App,
  type Backend,
  ChaussetteError,
  composeMounts,
  errorMessage,
  formatAddress,
  isChaussetteError,
  loadApp,
  loadInstalledBackends,
  type LoadAppOptions,
  loadExport,
  loadTls,
  refuseH2cWithTls,
  refuseUnsupportedOptions,
  parseTrustedProxies,
  resolveBackend,
  type RunningServer,
  startServer,
  type ServedCertificate,
  type TlsRequest,
  type TlsSettings,
} from '@chaussette/core';
import type { Logger } from 'pino';
import { helloApp } from './hello.js';
import { createLogger } from './logger.js';
import { stopWhenPackageManagerExits } from './npm-parent.js';
import { answerPm2, warnWhenPm2KillsFirst } from './pm2.js';
import { defaultNodeEnv } from './node-env.js';
import { refuseUnclaimedPlugin } from './unclaimed-plugin.js';
import { createAccessLog, refuseUnwritableAccessLog } from './access-log.js';
import { loadConfig } from './config.js';
import { reportLoadedFiles } from './loaded-files.js';
import { refuseReloadOptionsWithoutReloader, runWithReloader } from './reloader.js';
import { enableTypeScript, isTypeScript } from './typescript.js';
import { type CliOptions, DEFAULT_LISTEN, readCommandLine, resolveOptions, USAGE } from './options.js';

export { type CliOptions, parseCommandLine } from './options.js';

const cliDirectory = dirname(fileURLToPath(import.meta.url));

/** --mount: the apps behind one dispatcher, which the backend serves as one app (none is served natively). */
async function loadMounts(mounts: CliOptions['mounts'], options: Omit<LoadAppOptions, 'backend'>, logger: Logger, origin: () => string): Promise<App> {
  const loaded = await Promise.all(mounts.map(async ({ prefix, spec }) => ({ prefix, app: await loadApp(spec, options) })));
  // Mixed kinds make one node listener: fetch apps go through node-http's bridge.
  const { nodeListenerFor } = await import('@chaussette/node-http');
  return composeMounts(loaded, (fetchApp) => nodeListenerFor(fetchApp, logger, origin));
}

/** Runs the chaussette command; resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let options: CliOptions | undefined;
  let logger: Logger | undefined;
  try {
    const commandLine = readCommandLine(argv);
    const configFile = commandLine.values.config;
    const skipConfig = configFile === undefined || commandLine.values.help || commandLine.values.version;
    if (!skipConfig && isTypeScript(configFile)) await enableTypeScript(configFile, [process.cwd(), cliDirectory]);
    options = resolveOptions(commandLine, skipConfig ? {} : await loadConfig(configFile, process.cwd()));
    if (options.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (options.version) {
      process.stdout.write(`chaussette ${version()}\n`);
      return 0;
    }
    logger = createLogger(options);
    const cwd = process.cwd();
    refuseReloadOptionsWithoutReloader(options);
    refuseUnwritableAccessLog(options.accessLog);
    const tlsRequest = await tlsRequestOf(options);
    const tls = tlsRequest && (await loadTls(tlsRequest));
    const targets = await acquireListenTargets({
      bind: options.bind,
      host: options.host,
      port: options.port,
      fd: options.fd,
      fdName: options.fdName,
      backlog: options.backlog,
      reusePort: options.reusePort,
      fallback: DEFAULT_LISTEN,
    });
    if (options.useReloader) {
      if (options.reusePort) {
        throw new ChaussetteError('--reuse-port cannot be used with --use-reloader: the reloader holds the port itself, for one server at a time');
      }
      if (options.maxRequests) {
        throw new ChaussetteError('--max-requests cannot be used with --use-reloader: the reloader starts a new server only when a file changes, so none would follow the one that exits');
      }
    }
    const sendLoadedFiles = process.env.CHAUSSETTE_RELOADER_CHILD === '1' ? reportLoadedFiles() : undefined; // for the reloader to watch
    const backendSearch = { searchFrom: [cwd, cliDirectory], installCommand: installCommand(), offered: offeredBackends() };
    const backend = await resolveBackend(options.backend, backendSearch);
    if (options.uwsChunkedBehindProxy && backend.name !== 'uws') {
      throw new ChaussetteError(`--uws-chunked-behind-proxy is for the uws backend, whose engine's chunk parser is lax; the ${backend.name} backend takes chunked request bodies already: remove the flag`);
    }
    let others: Promise<Backend[]> | undefined;
    const otherBackends = () => (others ??= loadInstalledBackends(backendSearch, backend.name));
    const { peercreds: peerCredentials, socketMode, h2c, limits } = options;
    const backendOptions = options.uwsChunkedBehindProxy ? { ...options.backendOptions, chunkedBehindProxy: true } : options.backendOptions;
    await refuseUnsupportedOptions({ backend, targets, peerCredentials, socketMode, tls, h2c, limits, backendOptions, otherBackends });
    // Every option is checked by now: a mistake is one line, with no start-up line before it.
    defaultNodeEnv(options.useReloader, logger);
    if (options.useReloader) return await runWithReloader(options, targets, cwd, logger);
    for (const specifier of [options.application, ...options.mounts.map(({ spec }) => spec), options.preHook, options.postHook]) {
      if (specifier && isTypeScript(specifier)) await enableTypeScript(specifier, [cwd, cliDirectory]);
    }
    if (options.preHook) await runHook(await loadHook('--pre-hook', options.preHook), options);
    // Loaded now, for a wrong path to be refused at start rather than when the server has stopped.
    const postHook = options.postHook === undefined ? undefined : await loadHook('--post-hook', options.postHook);
    let origin = 'localhost'; // for the URL of a request without a Host header: the bound address, once known
    const loadOptions = { cwd, factory: options.factory, args: options.arguments, interface: options.interface, otherBackends };
    const app: App =
      options.mounts.length > 0
        ? await loadMounts(options.mounts, loadOptions, logger, () => origin)
        : options.application
          ? await loadApp(options.application, { ...loadOptions, backend })
          : helloApp;
    if (options.application && options.mounts.length === 0) refuseUnclaimedPlugin(app, options.application, backendSearch.installCommand);
    logger.info(`Application is ${app.description}`);
    for (const note of app.notes ?? []) logger.warn(note);
    // Until here a signal stops us the default way (nothing is served yet); from here it is graceful,
    // also when it arrives while the sockets open.
    const stop = nextStop(options, logger);
    const pm2 = answerPm2(() => stop.request({ why: "PM2's shutdown message received", exitCode: 0 }));
    warnWhenPm2KillsFirst(options.gracefulTimeout, logger);
    stopWhenPackageManagerExits(() => stop.request({ why: 'The npm (or npx) process that started chaussette exited without passing a signal on', exitCode: 0 }));
    if (process.env.CHAUSSETTE_RELOADER_CHILD === '1') {
      // The reloader that started this process is gone (killed outright): stop, as it would have asked.
      process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
    }
    const server = await startServer({
      app,
      backend,
      targets,
      logger,
      socketMode: options.socketMode,
      accessLog: countingResponses(options.accessLog === undefined ? undefined : createAccessLog(options.accessLog, options.accessLogFormat), options, stop.request),
      trustedProxies: options.proxyHeaders ? parseTrustedProxies(options.forwardedAllowIps) : undefined,
      backendOptions,
      limits,
      peerCredentials: options.peercreds,
      tls,
      h2c: options.h2c,
      otherBackends,
    });
    reloadCertificatesOnHangup(server, tlsRequest, options.keyfilePasswordFile, logger);
    const tcp = server.listening.find(({ bound }) => bound.type === 'tcp');
    if (tcp) origin = formatAddress(tcp.bound);
    for (const { address } of server.listening) logger.info(`Serving on ${address}`);
    if (tls) reportTls(tls, backend, logger);
    logger.info(`Using the ${backend.name} backend${backend.engine ? ` (${backend.engine})` : ''}`);
    sendLoadedFiles?.(); // before it serves: the reloader watches them from then on
    process.send?.({ chaussette: 'serving' }); // to a parent that asked with an IPC channel (--use-reloader)
    pm2.serving();
    const { exitCode } = await stopGracefully(await stop.reason, server, options, logger);
    if (postHook) await runHook(postHook, options);
    logger.info('Stopped');
    return exitCode;
  } catch (error) {
    reportFatal(error, options?.logLevel === 'debug', options?.logOutput === '-' ? undefined : logger);
    return 1;
  }
}

/** TLS as the options ask for it (undefined: plain HTTP); TLS-only options without a certificate are an error. */
async function tlsRequestOf(options: CliOptions): Promise<TlsRequest | undefined> {
  if (options.certfile.length === 0 && options.keyfile.length === 0) {
    const tlsOnly = [
      options.caCerts !== undefined && '--ca-certs',
      options.certReqs !== 'none' && '--cert-reqs',
      options.ciphers !== undefined && '--ciphers',
      options.keyfilePasswordFile !== undefined && '--keyfile-password-file',
      options.noHttp2 && '--no-http2',
    ].filter(Boolean);
    if (tlsOnly.length > 0) throw new ChaussetteError(`${tlsOnly.join(', ')} ${tlsOnly.length > 1 ? 'apply' : 'applies'} to TLS: give --certfile and --keyfile too`);
    return undefined;
  }
  refuseH2cWithTls(options.h2c, true);
  return {
    certFiles: options.certfile,
    keyFiles: options.keyfile,
    keyPassword: await keyPassword(options.keyfilePasswordFile),
    caFile: options.caCerts,
    clientCertificates: options.certReqs,
    ciphers: options.ciphers,
    http2: !options.noHttp2,
  };
}

/** An encrypted key's password: --keyfile-password-file's first line, else CHAUSSETTE_KEYFILE_PASSWORD; never a flag's value (ps shows those). */
async function keyPassword(passwordFile: string | undefined): Promise<string | undefined> {
  if (passwordFile === undefined) return process.env.CHAUSSETTE_KEYFILE_PASSWORD;
  try {
    return (await readFile(passwordFile, 'utf8')).split(/\r?\n/, 1)[0];
  } catch (error) {
    throw new ChaussetteError(`Cannot read --keyfile-password-file ${passwordFile}: ${errorMessage(error)}`, { cause: error });
  }
}

/** What the handshakes offer, and a warning for a certificate that expired or soon will. */
function reportTls(tls: TlsSettings, backend: Backend, logger: Logger): void {
  const alpn = tls.http2 && backend.supports?.http2 ? 'h2 and http/1.1' : 'http/1.1';
  const clients = tls.clientCertificates === 'none' ? '' : `; client certificates ${tls.clientCertificates}`;
  logger.info(`TLS 1.2 and 1.3 on every socket, ${alpn} by ALPN${clients}: ${tls.certificates.map(describeCertificate).join(', ')}`);
  for (const { certFile, validTo } of tls.certificates) {
    const daysLeft = Math.floor((validTo.getTime() - Date.now()) / 86_400_000);
    if (daysLeft < 0) logger.warn(`The certificate ${certFile} expired on ${day(validTo)}: clients refuse it. Renew it, then send SIGHUP`);
    else if (daysLeft < 14) logger.warn(`The certificate ${certFile} expires on ${day(validTo)}, in ${daysLeft} days: renew it, then send SIGHUP`);
  }
}

function describeCertificate({ certFile, serverNames, validTo }: ServedCertificate): string {
  return `${certFile} (${serverNames.join(', ') || 'no DNS name'}; valid until ${day(validTo)})`;
}

const day = (date: Date) => date.toISOString().slice(0, 10);

/**
 * SIGHUP re-reads the certificates and keys (after a renewal): new handshakes get them, open connections
 * keep theirs, and files that do not load leave the ones in use. Without TLS it changes nothing.
 */
function reloadCertificatesOnHangup(server: RunningServer, request: TlsRequest | undefined, passwordFile: string | undefined, logger: Logger): void {
  let reading = Promise.resolve();
  process.on('SIGHUP', () => {
    if (!request) return void logger.info('SIGHUP received: no certificates to re-read (to serve new code, have the process manager restart chaussette)');
    reading = reading.then(async () => {
      try {
        const tls = await loadTls({ ...request, keyPassword: await keyPassword(passwordFile) });
        server.updateTls(tls);
        logger.info(`SIGHUP received: re-read ${tls.certificates.map(describeCertificate).join(', ')}; new connections get them`);
      } catch (error) {
        logger.warn(`SIGHUP received: kept the certificates in use, the new ones do not load: ${errorMessage(error)}`);
      }
    });
  });
}

/** Why the server stops, and the exit code it then ends with. */
interface StopReason {
  why: string;
  exitCode: number;
}

/**
 * The first reason to stop: SIGTERM or SIGINT; --max-requests reached; an exception no code caught, or
 * (--on-unhandled-rejection exit) a rejection no code handled, outside any request. Both are logged
 * with their stack; a backend answers errors inside a request with a 500 itself.
 */
function nextStop(options: CliOptions, logger: Logger): { reason: Promise<StopReason>; request(reason: StopReason): void } {
  let request!: (reason: StopReason) => void;
  const reason = new Promise<StopReason>((resolve) => {
    request = (stopReason) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(stopReason);
    };
  });
  const onSignal = (signal: NodeJS.Signals) => request({ why: `${signal} received`, exitCode: 0 });
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('uncaughtException', (error) => {
    logger.error({ err: error }, 'Uncaught exception outside a request');
    request({ why: 'Uncaught exception', exitCode: 1 });
  });
  process.on('unhandledRejection', (error) => {
    const exiting = options.onUnhandledRejection === 'exit';
    logger.error({ err: error }, `Unhandled promise rejection outside a request${exiting ? '' : ' (--on-unhandled-rejection continue: serving on)'}`);
    if (exiting) request({ why: 'Unhandled promise rejection (--on-unhandled-rejection exit)', exitCode: 1 });
  });
  return { reason, request };
}

/** With --max-requests: the access log (if any) that also counts responses, and asks to stop at the limit. */
function countingResponses(
  accessLog: ((entry: AccessEntry) => void) | undefined,
  { maxRequests, maxRequestsJitter }: CliOptions,
  requestStop: (reason: StopReason) => void,
): ((entry: AccessEntry) => void) | undefined {
  if (!maxRequests) return accessLog;
  const limit = maxRequests + Math.floor(Math.random() * (maxRequestsJitter + 1));
  let served = 0;
  return (entry) => {
    accessLog?.(entry);
    if (++served === limit) {
      requestStop({ why: `Served ${limit} requests (--max-requests): exiting for the process manager to start a fresh worker`, exitCode: 0 });
    }
  };
}

/** Closes gracefully; a second SIGTERM or SIGINT exits at once. */
async function stopGracefully(reason: StopReason, server: RunningServer, options: CliOptions, logger: Logger): Promise<StopReason> {
  logger.info(`${reason.why}: no new connections; finishing requests in flight (up to ${options.gracefulTimeout} s)`);
  const forceExit = (again: NodeJS.Signals) => {
    logger.warn(`${again} received again: exiting without waiting for requests in flight`);
    process.exit(1);
  };
  process.once('SIGTERM', forceExit);
  process.once('SIGINT', forceExit);
  await server.close(options.gracefulTimeout * 1000);
  await leaveClusterPrimary();
  return reason;
}

/**
 * A node:cluster worker (PM2's cluster mode) leaves its primary before it exits: the primary may have
 * handed it a connection after the listener closed, and the round trip makes sure the worker has read
 * each one and sent it back to be served by another worker. Exiting first would leave that client hanging.
 */
async function leaveClusterPrimary(): Promise<void> {
  const worker = cluster.worker;
  if (!worker?.isConnected()) return;
  const left = once(worker, 'disconnect');
  worker.disconnect();
  await left;
}

/** --pre-hook or --post-hook, loaded. */
interface Hook {
  option: string;
  specifier: string;
  run: (options: CliOptions) => unknown;
}

async function loadHook(option: string, specifier: string): Promise<Hook> {
  const { value: run } = await loadExport(specifier, process.cwd(), option);
  if (typeof run !== 'function') {
    throw new ChaussetteError(`${option} ${specifier} is not a function; export a function that takes the options`);
  }
  return { option, specifier, run: run as Hook['run'] };
}

async function runHook({ option, specifier, run }: Hook, options: CliOptions): Promise<void> {
  try {
    await run(Object.freeze({ ...options }));
  } catch (error) {
    throw new ChaussetteError(`${option} ${specifier} failed: ${errorMessage(error)}`, { cause: error });
  }
}

function reportFatal(error: unknown, debug: boolean, fileLogger: Logger | undefined): void {
  const message = isChaussetteError(error)
    ? error.message
    : `${errorMessage(error)} (unexpected; run with --log-level debug for the stack, and please report it)`;
  process.stderr.write(`chaussette: error: ${message}\n`);
  if (debug) {
    for (let cause: unknown = error; cause; cause = (cause as Error).cause) {
      if (cause instanceof Error && cause.stack) process.stderr.write(`${cause.stack}\n`);
    }
  }
  fileLogger?.error({ err: error }, message);
}

/** The command that installs a package, for the package manager that ran us. */
function installCommand(): string {
  const agent = process.env.npm_config_user_agent ?? '';
  if (agent.startsWith('pnpm')) return 'pnpm add';
  if (agent.startsWith('yarn')) return 'yarn add';
  if (agent.startsWith('bun')) return 'bun add';
  return 'npm install';
}

function version(): string {
  return manifest().version;
}

/** The backends the CLI comes with or offers as optional peers (@chaussette/backend-NAME), by --backend name. */
function offeredBackends(): string[] {
  const { dependencies = {}, peerDependencies = {} } = manifest();
  const names = Object.keys({ ...dependencies, ...peerDependencies }).filter((name) => name.startsWith('@chaussette/backend-'));
  return names.map((name) => name.slice('@chaussette/backend-'.length));
}

function manifest(): { version: string; dependencies?: Record<string, string>; peerDependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
}
