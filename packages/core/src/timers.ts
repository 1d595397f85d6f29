/** setTimeout's longest delay: past it, a timer fires at once (and `close(Infinity)` must mean never). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Resolves once `promise` settles or `ms` have passed, whichever comes first, and leaves no timer behind. */
export async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const settled = promise.then(
    () => {},
    () => {},
  );
  await Promise.race([settled, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, Math.min(ms, MAX_TIMEOUT_MS)))))]);
  clearTimeout(timer);
}
