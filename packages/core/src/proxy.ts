import { BlockList, isIP } from 'node:net';
import type { TrustedProxies } from './backend.js';
import { invalidOption } from './errors.js';

/** The `--forwarded-allow-ips` entry for peers on a unix socket, which have no address to list. */
const UNIX_SOCKET_PEERS = 'unix';

const EXPECTED = `IP addresses or networks (10.0.0.0/8) separated by commas, ${UNIX_SOCKET_PEERS} for peers on a unix socket, or * for every peer`;

/**
 * `--forwarded-allow-ips`: comma-separated IP addresses and networks in CIDR notation, `unix` for peers
 * on a unix socket, or `*` for every peer (uvicorn's and gunicorn's syntax). Every entry is checked,
 * those next to `*` too: a typo is reported, not ignored.
 */
export function parseTrustedProxies(value: string, option = '--forwarded-allow-ips'): TrustedProxies {
  const items = value.split(',').map((item) => item.trim()).filter(Boolean);
  const networks = new BlockList();
  let hasNetworks = false;
  for (const item of items) {
    if (item === '*' || item === UNIX_SOCKET_PEERS || isIP(item)) continue;
    const network = parseNetwork(item);
    if (!network) throw invalidOption(option, item, EXPECTED);
    networks.addSubnet(network.base, network.prefix, network.family);
    hasNetworks = true;
  }
  if (items.includes('*')) return { all: true };
  const addresses = new Set<string>();
  for (const item of items.filter((item) => isIP(item))) {
    addresses.add(item);
    // A peer on an IPv4 address can show as an IPv4-mapped IPv6 one on a dual-stack socket.
    if (isIP(item) === 4) addresses.add(`::ffff:${item}`);
  }
  return { all: false, addresses, networks: hasNetworks ? networks : undefined, unixSocketPeers: items.includes(UNIX_SOCKET_PEERS) };
}

/** `10.0.0.0/8` or `fd00::/8`: an address, then a prefix length within its family's bits. */
function parseNetwork(item: string): { base: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [base = '', prefixText, ...rest] = item.split('/');
  const version = isIP(base);
  if (version === 0 || prefixText === undefined || rest.length > 0 || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > (version === 4 ? 32 : 128)) return undefined;
  return { base, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

function trusts(trusted: TrustedProxies, address: string): boolean {
  if (trusted.all || trusted.addresses.has(address)) return true;
  const version = trusted.networks ? isIP(address) : 0;
  return version !== 0 && trusted.networks!.check(address, version === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The client's address, as uvicorn's ProxyHeadersMiddleware finds it (but only ever an IP address): the
 * peer itself, unless it is a trusted proxy; then X-Forwarded-For read from the right, skipping trusted
 * proxies, up to the first address that is not one (with every peer trusted, the leftmost). A peer with
 * no address (`undefined` or empty) is one on a unix socket: it is trusted with `*` or `unix`.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | undefined, trusted: TrustedProxies | undefined): string | undefined {
  if (!trusted || !forwardedFor) return peer;
  const peerTrusted = peer ? trusts(trusted, peer) : trusted.all || trusted.unixSocketPeers === true;
  if (!peerTrusted) return peer;
  const hops = forwardedFor.split(',').map((hop) => hop.trim()).filter(Boolean);
  let client = hops[0];
  for (let index = hops.length - 1; index >= 0; index--) {
    if (!trusts(trusted, hops[index]!)) {
      client = hops[index];
      break;
    }
  }
  // Not an IP address (garbage, or a port or obfuscated name from an odd proxy): the peer is all we know.
  return client !== undefined && isIP(client) ? client : peer;
}
