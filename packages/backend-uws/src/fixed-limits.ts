import { ChaussetteError, type Limits } from '@chaussette/core';
import { type LoadedUws, loadUws } from './uws.js';

interface FixedLimit {
  value: number;
  flag: string;
  says: string;
}

// uWebSockets.js builds these into its binary: about 4 KiB of request head (a larger one gets 431 from
// 20.57, a silent close from 20.30), and a timeout for a request head or an idle keep-alive connection,
// checked every 4 s: 10 s in 20.30 (8 to 12 s in practice), 30 s in 20.57 (30 to 34 s), measured.
function fixedLimitsOf(current: boolean): Partial<Record<keyof Limits, FixedLimit>> {
  const idleSeconds = current ? 30 : 10;
  return {
    requestHeadersBytes: { value: 4096, flag: '--limit-request-headers', says: '4096 bytes of request line and headers' },
    // Measured on 20.57: 98 fields pass, 99 get 431.
    requestFields: { value: 98, flag: '--limit-request-fields', says: 'a limit of 98 header fields' },
    headersTimeoutMs: { value: idleSeconds * 1000, flag: '--timeout-headers', says: `${idleSeconds} seconds for a request head` },
    keepAliveTimeoutMs: { value: idleSeconds * 1000, flag: '--timeout-keep-alive', says: `${idleSeconds} seconds for an idle connection` },
  };
}

/** `engine` is loaded only when a fixed limit is given: the values depend on its release. */
export function refuseFixedLimits(limits: Partial<Limits> | undefined, engine: () => LoadedUws): void {
  if (!Object.keys(fixedLimitsOf(true)).some((key) => limits?.[key as keyof Limits] !== undefined)) return;
  const loaded = engine();
  for (const [key, fixed] of Object.entries(fixedLimitsOf(loaded.current))) {
    const given = limits?.[key as keyof Limits];
    if (given !== undefined && given !== fixed.value) {
      throw new ChaussetteError(
        `The uws backend cannot change ${fixed.flag}: uWebSockets.js ${loaded.release} has ${fixed.says}, built in. Drop ${fixed.flag}, or use --backend node or fastify`,
      );
    }
  }
}

/** The built-in values of the engine this process loads, as Limits (for the conformance kit's `fixedLimits`). */
export function fixedLimitValues(): Partial<Limits> {
  return Object.fromEntries(Object.entries(fixedLimitsOf(loadUws().current)).map(([key, { value }]) => [key, value]));
}
