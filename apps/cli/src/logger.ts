import cluster from 'node:cluster';
import { ChaussetteError, errorMessage } from '@chaussette/core';
import { type DestinationStream, type Logger, pino } from 'pino';
import type { CliOptions, LogLevel } from './options.js';

const PINO_LEVELS: Record<LogLevel, string> = { debug: 'debug', info: 'info', warning: 'warn', error: 'error', critical: 'fatal' };
const LABELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARNING', 50: 'ERROR', 60: 'CRITICAL' };

/**
 * A pino logger writing to stdout or appending to a file, as JSON lines or as gunicorn-style text lines.
 * A log file is reopened on SIGUSR1, for logrotate (`postrotate kill -USR1 PID`), as gunicorn does.
 */
export function createLogger(options: Pick<CliOptions, 'logLevel' | 'logOutput' | 'logFormat'>): Logger {
  let destination: DestinationStream;
  try {
    destination = options.logOutput === '-' ? stdout() : reopenedOnUsr1(pino.destination({ dest: options.logOutput, sync: true, append: true }));
  } catch (error) {
    throw new ChaussetteError(`Cannot open --log-output ${options.logOutput}: ${errorMessage(error)}. Check the path and its permissions`, { cause: error });
  }
  return pino(
    { level: PINO_LEVELS[options.logLevel], base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    options.logFormat === 'json' ? destination : textLines(destination),
  );
}

/**
 * Standard output for log lines. In a node:cluster worker through process.stdout: a cluster primary may
 * take the lines there, as PM2's cluster mode does to write each instance's log file (what reaches fd 1
 * lands in PM2's own log instead).
 */
export function stdout(): DestinationStream {
  return cluster.isWorker ? process.stdout : pino.destination({ fd: 1, sync: true });
}

/** A log file, reopened on SIGUSR1 (logrotate). Replaces Node's own SIGUSR1 action (starting the inspector), as any SIGUSR1 listener does. */
export function reopenedOnUsr1(file: ReturnType<typeof pino.destination>): DestinationStream {
  process.on('SIGUSR1', () => file.reopen());
  return file;
}

/** An error's stack; a thrown value that is not an Error (a string, a number) as it is. */
function describeError(err: LogRecord['err']): string {
  if (err !== null && typeof err === 'object') return err.stack ?? err.message ?? JSON.stringify(err);
  return `thrown: ${JSON.stringify(err)}`;
}

interface LogRecord {
  level: number;
  time: string;
  pid: number;
  msg?: string;
  err?: { stack?: string; message?: string } | string | number | boolean | null;
}

/** `[2026-01-31 12:00:00 +0000] [4242] [INFO] Serving on 127.0.0.1:8080`, an error's stack on the lines below. */
function textLines(destination: DestinationStream): DestinationStream {
  return {
    write(line: string) {
      const record = JSON.parse(line) as LogRecord;
      const time = record.time.replace('T', ' ').replace(/\.\d+Z$/, ' +0000');
      let text = `[${time}] [${record.pid}] [${LABELS[record.level] ?? record.level}] ${record.msg ?? ''}\n`;
      if (record.err !== undefined) text += `${describeError(record.err).replace(/^/gm, '    ')}\n`;
      destination.write(text);
    },
  };
}
