import { ChaussetteError, type Limits } from '@chaussette/core';

// uWebSockets.js 20 builds these into its binary: about 4 KiB of request head (a larger one closes the
// connection, without a 431), and 10 s for a request head or an idle keep-alive connection (checked every
// 4 s, so 8 to 12 s in practice).
const FIXED_LIMITS: Partial<Record<keyof Limits, { value: number; flag: string; says: string }>> = {
  requestHeadersBytes: { value: 4096, flag: '--limit-request-headers', says: '4096 bytes of request line and headers' },
  headersTimeoutMs: { value: 10_000, flag: '--timeout-headers', says: '10 seconds for a request head' },
  keepAliveTimeoutMs: { value: 10_000, flag: '--timeout-keep-alive', says: '10 seconds for an idle connection' },
};

export function refuseFixedLimits(limits: Partial<Limits> | undefined): void {
  for (const [key, fixed] of Object.entries(FIXED_LIMITS)) {
    const given = limits?.[key as keyof Limits];
    if (given !== undefined && given !== fixed.value) {
      throw new ChaussetteError(
        `The uws backend cannot change ${fixed.flag}: uWebSockets.js has ${fixed.says}, built in. Drop ${fixed.flag}, or use --backend node or fastify`,
      );
    }
  }
}

/** The built-in values, as Limits (for the conformance kit's `fixedLimits`). */
export const FIXED_LIMIT_VALUES: Partial<Limits> = Object.fromEntries(Object.entries(FIXED_LIMITS).map(([key, { value }]) => [key, value]));
