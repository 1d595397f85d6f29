import { type LoadResult, startLoad } from '@chaussette/testkit';

/**
 * Non-stop load on `where` (`host:port` or `unix:/path`) as the clients in front of a worker send it:
 * new connections, kept connections sending back to back, pipelined batches (see the kit's startLoad),
 * until `stop()`. The fixture apps answer `{ pid }`: `pids` are the workers that answered.
 */
export function loadGenerator(where: string): {
  stop(): Promise<LoadResult & { pids: Set<number> }>;
  answered(pid: number): Promise<void>;
  pids(): ReadonlySet<number>;
} {
  const pids = new Set<number>();
  const address = where.startsWith('unix:')
    ? ({ type: 'unix', path: where.slice('unix:'.length) } as const)
    : ({ type: 'tcp', host: where.slice(0, where.lastIndexOf(':')), port: Number(where.slice(where.lastIndexOf(':') + 1)) } as const);
  const load = startLoad(address, {
    newConnection: 4,
    keepAlive: 4,
    pipelined: 2,
    pipelineDepth: 4,
    onBody: (body) => pids.add((JSON.parse(body) as { pid: number }).pid),
  });
  return {
    /** Resolves once `pid` has answered a request. */
    async answered(pid) {
      while (!pids.has(pid)) await new Promise((resolve) => setTimeout(resolve, 10));
    },
    pids: () => pids,
    async stop() {
      return { ...(await load.stop()), pids };
    },
  };
}
