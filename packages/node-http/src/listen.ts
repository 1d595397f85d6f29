import type { Server } from 'node:http';
import type { ListenOptions } from 'node:net';
import type { BoundAddress, ListenTarget } from '@chaussette/core';

/**
 * node:net cannot name a unix socket it was handed as an fd (its address() is null, which Fastify's
 * start-up log cannot take): the server answers with the path core read from the kernel, as it would
 * for a socket it bound. Call it before listening.
 */
export function nameInheritedUnixSocket(server: Server, target: ListenTarget): void {
  if (target.type !== 'fd' || target.family !== 'unix') return;
  const address = server.address.bind(server);
  server.address = () => address() ?? target.path ?? '';
}

/** The address a node:http server listens on (see nameInheritedUnixSocket for inherited unix sockets). */
export function boundAddress(server: Server): BoundAddress {
  const address = server.address();
  if (address === null || typeof address === 'string') return { type: 'unix', path: address ?? '' };
  return { type: 'tcp', host: address.address, port: address.port };
}

/** The node:net listen() options for a listen target. */
export function listenOptions(target: ListenTarget): ListenOptions {
  switch (target.type) {
    case 'tcp':
      return { host: target.host, port: target.port, backlog: target.backlog, ...(target.reusePort && { reusePort: true }) };
    case 'unix':
      return { path: target.path, backlog: target.backlog };
    case 'fd':
      return { fd: target.fd, backlog: target.backlog } as ListenOptions; // net takes fd; @types/node's ListenOptions omits it
  }
}
