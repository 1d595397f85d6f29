import { STATUS_CODES } from 'node:http';
import type { Limits } from './backend.js';

const MiB = 1024 * 1024;

/** Safe for a server facing the internet, roomy enough for ordinary apps: see SECURITY.md. */
export const DEFAULT_LIMITS: Readonly<Limits> = {
  requestBodyBytes: 100 * MiB,
  requestLineBytes: 8190,
  requestHeadersBytes: 16 * 1024,
  requestFields: 100,
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
  /** Every Transfer-Encoding header's value, in order. */
  transferEncodings: readonly string[];
  /** Every Host header's value; undefined for an engine that checks them itself. */
  hosts?: readonly string[];
  /** `1.1` (the default), `1.0`…, as the request line says; for an engine that speaks more than 1.1. */
  httpVersion?: string;
  /** How many header fields the request has, for an engine that keeps only so many (see Limits.requestFields). */
  fields?: number;
  /** Requests in flight when this one arrived, not counting it. */
  inFlight: number;
}

/**
 * The status to refuse a request with before the app sees it, or 0 to let it through: 431 for more
 * fields than the limit, 400 for a body whose length is ambiguous (for parsers that let it pass), 501
 * for a transfer coding other than chunked, 414, 413, 503 (see Limits).
 */
export function refusalFor(head: RequestHead, limits: Limits): number {
  const { contentLengths, transferEncodings, hosts, httpVersion = '1.1' } = head;
  if (limits.requestFields && head.fields !== undefined && head.fields > limits.requestFields) return 431;
  if (!httpVersion.startsWith('1.')) return 505;
  if (contentLengths.length > 0 && (transferEncodings.length > 0 || !isContentLength(contentLengths))) return 400;
  // RFC 9112 §6.1: HTTP/1.0 has no transfer codings; its framing is faulty.
  if (transferEncodings.length > 0 && httpVersion === '1.0') return 400;
  // RFC 9112 §3.2: no Host in HTTP/1.1, more than one, or an invalid one.
  if (hosts && (hosts.length > 1 || (hosts.length === 0 && httpVersion !== '1.0') || (hosts.length === 1 && hosts[0] !== '' && !isValidHost(hosts[0]!)))) return 400;
  if (transferEncodings.length > 0) {
    const framing = transferFraming(transferEncodings);
    if (framing) return framing;
  }
  // ' HTTP/1.1': the request line's version and the spaces around the target.
  if (limits.requestLineBytes && head.method.length + head.url.length + 10 > limits.requestLineBytes) return 414;
  if (limits.requestBodyBytes && contentLengths.length > 0 && Number(contentLengths[0]) > limits.requestBodyBytes) return 413;
  if (limits.concurrency && head.inFlight >= limits.concurrency) return 503;
  return 0;
}

/**
 * RFC 9112 §6.3: a request whose Transfer-Encoding does not end in `chunked` has no reliable length
 * (400), and `chunked` is applied once; a coding before it is one the server does not decode (501).
 * Codings are tokens, compared case-insensitively, separated by commas and optional spaces or tabs.
 */
function transferFraming(values: readonly string[]): number {
  const codings = values.join(',').split(',').map((coding) => coding.replace(/^[ \t]+|[ \t]+$/g, '').toLowerCase());
  if (codings.at(-1) !== 'chunked' || codings.some((coding) => !TOKEN.test(coding)) || codings.indexOf('chunked') !== codings.length - 1) return 400;
  return codings.length > 1 ? 501 : 0;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

// RFC 3986 host (IP literal, IPv4 or registered name) and an optional port.
const VALID_HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::\d{1,5})?$/;

// Clients of one server mostly send the same Host: the last valid one is remembered, not checked again.
let lastValidHost = '';

/** A Host header that is safe to put in request.url (`Host: x/admin#` would change the path the app sees). */
export function isValidHost(host: string): boolean {
  if (host === lastValidHost) return true;
  if (!VALID_HOST.test(host)) return false;
  lastValidHost = host;
  return true;
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
  411: ': the server takes no chunked request body; send Content-Length',
  413: ': the request body is over the server\'s limit',
  414: ': the request line is over the server\'s limit',
  501: ': the request body uses a transfer coding the server does not decode',
  431: ': the request headers are over the server\'s limit',
  503: ': the server is at its limit of requests in flight; retry shortly',
};
