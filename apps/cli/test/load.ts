import { get } from './helpers.js';

export interface LoadResult {
  ok: number;
  failed: number;
  /** The first few failures, to say what went wrong. */
  errors: string[];
  /** The pids that answered (the fixture apps answer `{ pid }`). */
  pids: Set<number>;
}

/**
 * Sends requests without pause, each on a new connection, from `concurrency` loops, until `stop()`;
 * resolves with the counts. A request fails on any connection error or a status other than 200.
 */
export function loadGenerator(
  where: string,
  concurrency = 4,
): { stop(): Promise<LoadResult>; answered(pid: number): Promise<void>; pids(): ReadonlySet<number> } {
  const result: LoadResult = { ok: 0, failed: 0, errors: [], pids: new Set() };
  let running = true;
  const loop = async () => {
    while (running) {
      try {
        const reply = await get(where, '/');
        if (reply.status !== 200) throw new Error(`status ${reply.status}: ${reply.body.slice(0, 200)}`);
        result.pids.add((JSON.parse(reply.body) as { pid: number }).pid);
        result.ok++;
      } catch (error) {
        result.failed++;
        if (result.errors.length < 5) result.errors.push(String((error as { code?: string }).code ?? error));
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    /** Resolves once `pid` has answered a request. */
    async answered(pid) {
      while (!result.pids.has(pid)) await new Promise((resolve) => setTimeout(resolve, 10));
    },
    pids: () => result.pids,
    async stop() {
      running = false;
      await Promise.all(loops);
      return result;
    },
  };
}
