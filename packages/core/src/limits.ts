import { STATUS_CODES } from 'node:http';
import type { Limits } from './backend.js';

const MiB = 1024 * 1024;

/** Safe for a server facing the internet, roomy enough for ordinary apps: see SECURITY.md. */
export const DEFAULT_LIMITS: Readonly<Limits> = {
  requestBodyBytes: 100 * MiB,
  requestLineBytes: 8190,
  requestHeadersBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  concurrency: 0,
};

export function resolveLimits(given: Partial<Limits> | undefined): Limits {
  return { ...DEFAULT_LIMITS, ...given };
}

/** What a backend reads of a request head to judge it against the limits (see refusalFor). */
export interface RequestHead {
  method: string;
  /** The request target: path and query. */
  url: string;
  /** Every Content-Length header's value, in order: more than one that disagree is a smuggling attempt. */
  contentLengths: readonly string[];
  hasTransferEncoding: boolean;
  /** Requests in flight when this one arrived, not counting it. */
  inFlight: number;
}

/**
 * The status to refuse a request with before the app sees it, or 0 to let it through: 400 for a body
 * whose length is ambiguous (for parsers that let it pass), 414, 413, 503 (see Limits).
 */
export function refusalFor(head: RequestHead, limits: Limits): number {
  const { contentLengths } = head;
  if (contentLengths.length > 0 && (head.hasTransferEncoding || !isContentLength(contentLengths))) return 400;
  // ' HTTP/1.1': the request line's version and the spaces around the target.
  if (limits.requestLineBytes && head.method.length + head.url.length + 10 > limits.requestLineBytes) return 414;
  if (limits.requestBodyBytes && contentLengths.length > 0 && Number(contentLengths[0]) > limits.requestBodyBytes) return 413;
  if (limits.concurrency && head.inFlight >= limits.concurrency) return 503;
  return 0;
}

function isContentLength(values: readonly string[]): boolean {
  const first = values[0]!;
  return /^\d+$/.test(first) && values.every((value) => value === first);
}

/** A refusal's headers (its connection closes) and plain-text body: the status's reason, and why. */
export function refusal(status: number): { headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8', connection: 'close' };
  if (status === 503) headers['retry-after'] = '1';
  return { headers, body: `${STATUS_CODES[status] ?? 'Error'}${REFUSAL_HINTS[status] ?? ''}\n` };
}

const REFUSAL_HINTS: Record<number, string> = {
  400: ': the request is malformed',
  408: ': the request head did not arrive in time',
  413: ': the request body is over the server\'s limit',
  414: ': the request line is over the server\'s limit',
  431: ': the request headers are over the server\'s limit',
  503: ': the server is at its limit of requests in flight; retry shortly',
};
