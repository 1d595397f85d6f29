import { type LoadOptions, type LoadResult, startLoad } from '@chaussette/testkit';

export interface LoadGeneratorOptions {
  /** Every client speaks TLS, the workers' certificate verified against this CA for `localhost`. */
  tls?: { ca: string };
  /** HTTP/2 sessions beside the HTTP/1.1 clients: by ALPN over TLS, else h2c with prior knowledge. */
  h2?: boolean;
}

const HTTP1_LOAD: LoadOptions = { newConnection: 4, keepAlive: 4, pipelined: 2, pipelineDepth: 4 };
// Two sessions of four streams in flight each: as many requests at once as the kept HTTP/1.1 connections.
const H2_LOAD: LoadOptions = { h2: 2, h2Streams: 4 };

/**
 * Non-stop load on `where` (`host:port` or `unix:/path`) as the clients in front of a worker send it:
 * new connections, kept connections sending back to back, pipelined batches, HTTP/2 sessions with
 * `h2` (see the kit's startLoad), until `stop()`. The fixture apps answer `{ pid }`: `pids` are the
 * workers that answered.
 */
export function loadGenerator(
  where: string,
  options: LoadGeneratorOptions = {},
): {
  stop(): Promise<LoadResult & { pids: Set<number> }>;
  answered(pid: number): Promise<void>;
  pids(): ReadonlySet<number>;
} {
  const pids = new Set<number>();
  const address = where.startsWith('unix:')
    ? ({ type: 'unix', path: where.slice('unix:'.length) } as const)
    : ({ type: 'tcp', host: where.slice(0, where.lastIndexOf(':')), port: Number(where.slice(where.lastIndexOf(':') + 1)) } as const);
  const load = startLoad(address, {
    ...HTTP1_LOAD,
    ...(options.h2 && H2_LOAD),
    tls: options.tls,
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
