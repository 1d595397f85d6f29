// The served baseline: before its cases, each concern asks its server for one valid request on the kind
// of connection those cases use. A refusal case passes on a closed connection, so without this a server
// that cannot speak the protocol at all passes every refusal; with it, every case of the concern fails.
import { beforeEach, expect } from 'vitest';
import type { BoundAddress } from '@chaussette/core';
import { HELLO } from './apps.js';
import { request } from './client.js';
import { kitTest } from './known-failures.js';

export const BASELINE_CASE = 'serves a valid request first (the baseline: status 200 and the app\'s body)';

/** How long the baseline waits for its answer: a server that never answers fails it rather than the whole run. */
const BASELINE_TIMEOUT_MS = 3000;

export interface Baseline {
  /** Sends the valid request and checks its answer; throws, saying what came back, when it was not served. */
  check(): Promise<void>;
  /** Why the concern's cases are skipped on this backend (the case is skipped too), or undefined. */
  skipped?(): string | undefined;
}

/**
 * Registers the baseline case first in the current describe, and a beforeEach that fails every other case
 * of the describe (nested ones too) when the baseline was not served. The check runs once, on the first
 * case that needs it, so that a run filtered to one case (`-t`) still checks it.
 */
export function servedBaseline({ check, skipped = () => undefined }: Baseline): void {
  let outcome: Promise<Error | undefined> | undefined;
  const run = () => (outcome ??= withTimeout(check()).then(() => undefined, (error: unknown) => (error instanceof Error ? error : new Error(String(error)))));
  kitTest(BASELINE_CASE, async (context) => {
    const why = skipped();
    if (why) context.skip(why);
    const error = await run();
    if (error) throw error;
  });
  beforeEach(async (context) => {
    if (context.task.name === BASELINE_CASE || skipped()) return;
    const error = await run();
    if (error) throw new Error(`${NOT_SERVED}: ${error.message}`, { cause: error });
  });
}

/** The words of a case failed by its concern's baseline. */
export const NOT_SERVED = 'The server did not serve the baseline request (status 200 and the app\'s body), so this case proves nothing';

/** The baseline of the HTTP/1.1 concerns: GET `path` with the kit's client, answered 200 with `body`. */
export function getServed(address: () => BoundAddress, path = '/', body = HELLO): () => Promise<void> {
  return async () => {
    const response = await request(address(), path);
    expect(`${response.status} ${response.body.toString()}`, `GET ${path}`).toBe(`200 ${body}`);
  };
}

function withTimeout(check: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${BASELINE_TIMEOUT_MS} ms`)), BASELINE_TIMEOUT_MS);
  });
  return Promise.race([check, late]).finally(() => clearTimeout(timer));
}
