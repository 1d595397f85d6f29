import { type ResponseParts, responseParts, streamedResponseParts } from '@chaussette/core';

/**
 * Status and headers, and the whole body when it is known without reading a stream (chaussette's
 * Response, or undici's made from a string or bytes); body undefined means: stream it, from `stream`
 * when chaussette's Response kept one, else from `response.body`. The caller takes the body.
 */
export function partsOf(response: Response): Omit<ResponseParts, 'body'> & { body: ResponseParts['body'] | undefined; stream?: ReadableStream<Uint8Array> } {
  const kept = responseParts(response);
  if (kept) return kept;
  const streamed = streamedResponseParts(response);
  if (streamed) return { ...streamed, body: undefined };
  const headers: string[] = [];
  let hasContentLength = false;
  for (const [name, value] of response.headers) {
    headers.push(name, value);
    if (name === 'content-length') hasContentLength = true;
  }
  return { status: response.status, statusText: response.statusText, headers, hasContentLength, body: wholeBody(response) };
}

export function byteLength(body: string | Uint8Array): number {
  return typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
}

export function isResponse(value: unknown): value is Response {
  if (value instanceof Response) return true;
  const candidate = value as Partial<Response> | null;
  return typeof candidate?.status === 'number' && typeof candidate.headers?.forEach === 'function' && 'body' in candidate;
}

// undici keeps the string or bytes a Response was made from; sending them skips reading its stream.
let undiciState: symbol | undefined | null = null; // null: not looked up yet (that loads undici)

/** The complete body when it is known without reading the stream; null for no body; undefined to stream. */
function wholeBody(response: Response): string | Uint8Array | null | undefined {
  if (undiciState === null) undiciState = Object.getOwnPropertySymbols(new Response('')).find((symbol) => symbol.description === 'state');
  if (undiciState === undefined || response.bodyUsed) return undefined;
  const body = (response as unknown as Record<symbol, { body?: { source?: unknown; stream?: ReadableStream } | null }>)[undiciState]?.body;
  if (body === null) return null;
  const source = body?.source;
  if ((typeof source === 'string' || source instanceof Uint8Array) && body?.stream?.locked === false) return source;
  return undefined;
}
