import { closeSync, openSync } from 'node:fs';
import type { AccessEntry } from '@chaussette/core';
import { ChaussetteError, errorMessage } from '@chaussette/core';
import { type DestinationStream, pino } from 'pino';
import { reopenedOnUsr1, stdout } from './logger.js';

export type AccessLogFormat = 'common' | 'combined';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (number: number) => String(number).padStart(2, '0');

/** `10/Oct/2000:13:55:36 +0000`, the Common Log Format's time, in UTC. */
function logTime(date: Date): string {
  return `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/** A client controls these strings: quotes, backslashes and control characters are escaped, as Apache does. */
function escape(text: string): string {
  return text.replace(/[\\"\x00-\x1f\x7f]/g, (character) =>
    character === '"' || character === '\\' ? `\\${character}` : `\\x${character.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/** One access log line: `127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 13`, plus referer and user agent when combined. */
export function formatAccessEntry(entry: AccessEntry, format: AccessLogFormat, now = new Date()): string {
  const request = escape(`${entry.method} ${entry.url} HTTP/${entry.httpVersion}`);
  let line = `${escape(entry.remoteAddress ?? '-')} - - [${logTime(now)}] "${request}" ${entry.status} ${entry.bytes ? entry.bytes : '-'}`;
  if (format === 'combined') line += ` "${escape(entry.referer ?? '-')}" "${escape(entry.userAgent ?? '-')}"`;
  return `${line}\n`;
}

/** Opens FILE to append, as createAccessLog will, then closes it: a path it cannot write is refused before the app loads. */
export function refuseUnwritableAccessLog(output: string | undefined): void {
  if (output === undefined || output === '-') return;
  try {
    closeSync(openSync(output, 'a'));
  } catch (error) {
    throw cannotOpen(output, error);
  }
}

/** An access log writing to FILE (appending) or to stdout (`-`); a file is reopened on SIGUSR1. */
export function createAccessLog(output: string, format: AccessLogFormat): (entry: AccessEntry) => void {
  let destination: DestinationStream;
  try {
    destination = output === '-' ? stdout() : reopenedOnUsr1(pino.destination({ dest: output, sync: true, append: true, mkdir: false }));
  } catch (error) {
    throw cannotOpen(output, error);
  }
  return (entry) => void destination.write(formatAccessEntry(entry, format));
}

function cannotOpen(output: string, error: unknown): ChaussetteError {
  return new ChaussetteError(`Cannot open --access-log ${output}: ${errorMessage(error)}. Check the path and its permissions`, { cause: error });
}
