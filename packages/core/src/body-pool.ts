// `new Response(bytes)` must copy the bytes (the app may change its own afterwards). For a large body the
// copy is cheap but a fresh buffer is not: each one is memory outside V8's heap that V8 accounts for and
// sweeps, and at a few thousand 64 KiB responses a second that doubled the GC work of an echo. So the
// copies of large bodies are made in buffers a backend hands back once it has sent them.

const SMALLEST = 8 * 1024; // below this, a fresh buffer costs less than the bookkeeping
const LARGEST = 1024 * 1024;
const IDLE_BYTES_AT_MOST = 4 * 1024 * 1024;

/** Free buffers by size: powers of two from SMALLEST to LARGEST. */
const free = new Map<number, ArrayBuffer[]>();
/** Every buffer the pool made and that is not free: only these may come back. */
const lent = new WeakSet<ArrayBuffer>();
let idleBytes = 0;

/** A copy of `bytes`, in a pooled buffer when it is large enough to be worth one. */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const length = bytes.byteLength;
  if (length < SMALLEST || length > LARGEST) return new Uint8Array(bytes);
  const size = 2 ** Math.ceil(Math.log2(length));
  const buffer = free.get(size)?.pop();
  if (buffer) idleBytes -= size;
  const copy = new Uint8Array(buffer ?? new ArrayBuffer(size), 0, length);
  copy.set(bytes);
  lent.add(copy.buffer as ArrayBuffer);
  return copy;
}

/**
 * A backend has sent a kept body (`ResponseParts.body`) and holds no reference to it any more: its
 * buffer may serve another response. Anything not from the pool, or handed back already, is ignored.
 */
export function recycleBody(body: string | Uint8Array | null): void {
  if (body === null || typeof body === 'string' || !lent.has(body.buffer as ArrayBuffer)) return;
  const buffer = body.buffer as ArrayBuffer;
  lent.delete(buffer);
  if (idleBytes + buffer.byteLength > IDLE_BYTES_AT_MOST) return;
  let list = free.get(buffer.byteLength);
  if (!list) free.set(buffer.byteLength, (list = []));
  list.push(buffer);
  idleBytes += buffer.byteLength;
}
