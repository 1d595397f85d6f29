// What core reads of undici's objects (the runtime's Request and Response) beyond the Fetch standard,
// each behind one function here, each with a test named after it in undici-internals.spec.ts: a Node
// release that changes one fails the test that says which, on the version that changed it.

// undici 6 (Node 22) keeps a Response's state under Symbol(state); undici 7 (Node 24) and later in
// private fields, out of reach.
let stateSymbol: symbol | undefined | null = null; // null: not looked up yet (that loads undici)

/** Whether this Node's Response has the state undiciBodySource() reads. */
export function hasUndiciResponseState(): boolean {
  if (stateSymbol === null) stateSymbol = Object.getOwnPropertySymbols(new Response('')).find((symbol) => symbol.description === 'state');
  return stateSymbol !== undefined;
}

/**
 * The string or bytes an undici Response was made from, while its body is unread: sending them skips
 * reading its stream. null for no body; undefined to stream it (a stream body, one read or locked, or a
 * Node whose Response keeps its state out of reach).
 */
export function undiciBodySource(response: Response): string | Uint8Array | null | undefined {
  if (!hasUndiciResponseState() || response.bodyUsed) return undefined;
  const body = (response as unknown as Record<symbol, { body?: { source?: unknown; stream?: ReadableStream } | null }>)[stateSymbol!]?.body;
  if (body == null) return null; // undici 6 leaves `body` out of a Response made without one
  const source = body.source;
  if ((typeof source === 'string' || source instanceof Uint8Array) && body.stream?.locked === false) return source;
  return undefined;
}
