// Cases a backend declares it fails, each a flaw of its engine that it documents (an old uWebSockets.js
// build, say): they still run, as `test.fails`, so that a case that starts to pass shows too.
import { test, type TestFunction } from 'vitest';
import type { AppKind, Backend } from '@chaussette/core';

let known: ReadonlySet<string> = new Set();

/** From now on, in this test file, the cases named here are expected to fail. */
export function expectFailures(names: readonly string[] | undefined): void {
  known = new Set(names);
}

/** vitest's `test`, or `test.fails` for a case named in expectFailures(). */
export function kitTest(name: string, body: TestFunction, timeout?: number): void {
  (known.has(name) ? test.fails : test)(name, body, timeout);
}

/** Registers a case that does not apply to this backend: it shows as skipped, saying why. */
export function kitSkip(name: string, why: string): void {
  test(name, (context) => context.skip(why));
}

/** Why the cases that send a chunked request body are skipped (HardeningOptions.refusesChunkedRequestBodies). */
export const CHUNKED_BODIES_REFUSED = 'the backend answers 411 to a chunked request body (refusesChunkedRequestBodies); the framing cases check that 411';

/** kitTest() for the cases of one app kind: skipped, saying why, on a backend that does not serve it. */
export function kitTestForKind(getBackend: () => Backend, kind: AppKind): (name: string, body: () => Promise<void>, timeout?: number) => void {
  return (name, body, timeout) =>
    kitTest(
      name,
      async (context) => {
        if (!getBackend().appKinds.includes(kind)) context.skip(`the ${getBackend().name} backend does not serve ${kind} apps`);
        await body();
      },
      timeout,
    );
}
