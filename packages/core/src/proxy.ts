import { isIP } from 'node:net';
import type { TrustedProxies } from './backend.js';
import { invalidOption } from './errors.js';

/**
 * `--forwarded-allow-ips`: comma-separated IP addresses, or `*` for every peer (uvicorn's syntax).
 * Every entry is checked, those next to `*` too: a typo is reported, not ignored.
 */
export function parseTrustedProxies(value: string, option = '--forwarded-allow-ips'): TrustedProxies {
  const items = value.split(',').map((item) => item.trim()).filter(Boolean);
  const notAnAddress = items.find((item) => item !== '*' && !isIP(item));
  if (notAnAddress !== undefined) throw invalidOption(option, notAnAddress, 'IP addresses separated by commas, or * for every peer');
  if (items.includes('*')) return { all: true };
  const addresses = new Set<string>();
  for (const item of items) {
    addresses.add(item);
    // A peer on an IPv4 address can show as an IPv4-mapped IPv6 one on a dual-stack socket.
    if (isIP(item) === 4) addresses.add(`::ffff:${item}`);
  }
  return { all: false, addresses };
}

function trusts(trusted: TrustedProxies, address: string): boolean {
  return trusted.all || trusted.addresses.has(address);
}

/**
 * The client's address, as uvicorn's ProxyHeadersMiddleware finds it (but only ever an IP address): the peer itself, unless it is a
 * trusted proxy; then X-Forwarded-For read from the right, skipping trusted proxies, up to the first
 * address that is not one (with every peer trusted, the leftmost).
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | undefined, trusted: TrustedProxies | undefined): string | undefined {
  if (!trusted || peer === undefined || !forwardedFor || !trusts(trusted, peer)) return peer;
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
