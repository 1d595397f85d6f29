// The members of Node's modules that Node does not document and the CLI uses, each behind one function
// here, each with a test named after it in node-internals.spec.ts: a Node release that changes one fails
// the test that says which, on the version that changed it.
import * as net from 'node:net';

/** A bound socket that no event loop accepts on: its fd, to hand to other processes, and how to close it. */
export interface BoundHandle {
  fd: number;
  close(): void;
  getsockname?(out: { port?: number }): number;
}

type CreateServerHandle = (address: string, port: number, addressType: number, fd: undefined, flags: number) => BoundHandle | number;

/**
 * Binds a TCP (`port` ≥ 0) or unix (`port` -1, `address` the path) socket without listening on it, with
 * node:net's own `_createServerHandle` (cluster's primary holds sockets the same way). Returns the
 * handle, an errno (negative) when binding failed, or undefined when this Node has no such function.
 */
export function bindWithoutListening(address: string, port: number): BoundHandle | number | undefined {
  const createServerHandle = (net as unknown as { _createServerHandle?: CreateServerHandle })._createServerHandle;
  if (typeof createServerHandle !== 'function') return undefined;
  return port < 0 ? createServerHandle(address, -1, -1, undefined, 0) : createServerHandle(address, port, net.isIPv6(address) ? 6 : 4, undefined, 0);
}

/** The port a TCP socket from bindWithoutListening() is bound to (the kernel's choice for port 0). */
export function boundPort(handle: BoundHandle): number | undefined {
  const out: { port?: number } = {};
  return handle.getsockname?.(out) === 0 ? out.port : undefined;
}
