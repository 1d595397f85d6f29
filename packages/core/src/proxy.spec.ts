import { describe, expect, test } from 'vitest';
import { clientAddress, parseTrustedProxies } from './proxy.js';

describe('parseTrustedProxies: IP addresses and networks separated by commas, unix, or *', () => {
  test.each([
    ['notanip', 'notanip'],
    ['10.0.0.1,proxy.internal', 'proxy.internal'],
    ['*, 10.0.0.300', '10.0.0.300'],
    ['10.0.0.0/33', '10.0.0.0/33'],
    ['fd00::/129', 'fd00::/129'],
    ['10.0.0.0/', '10.0.0.0/'],
    ['10.0.0.0/8/8', '10.0.0.0/8/8'],
    ['10.0.0.0/x', '10.0.0.0/x'],
    ['proxy/24', 'proxy/24'],
    ['unix:/run/web.sock', 'unix:/run/web.sock'],
  ])('%j is refused, naming %j', (value, bad) => {
    expect(() => parseTrustedProxies(value)).toThrow(`Invalid --forwarded-allow-ips "${bad}" (expected IP addresses or networks (10.0.0.0/8) separated by commas, unix for peers on a unix socket, or * for every peer)`);
  });

  test('the option named is the one the value came from', () => {
    expect(() => parseTrustedProxies('x', '--config key')).toThrow('Invalid --config key "x"');
  });

  test('addresses, IPv4 also as IPv4-mapped IPv6; * trusts every peer', () => {
    const trusted = parseTrustedProxies(' 10.0.0.1 ,::1,');
    expect(trusted).toEqual({ all: false, addresses: new Set(['10.0.0.1', '::ffff:10.0.0.1', '::1']), unixSocketPeers: false });
    expect(clientAddress('::ffff:10.0.0.1', '203.0.113.7', trusted)).toBe('203.0.113.7');
    expect(parseTrustedProxies('10.0.0.1,*')).toEqual({ all: true });
  });

  test('networks in CIDR notation, IPv4 and IPv6; an IPv4 network holds IPv4-mapped IPv6 peers', () => {
    const trusted = parseTrustedProxies('10.0.0.0/8, fd00::/8, 192.0.2.7/32');
    for (const peer of ['10.1.2.3', '::ffff:10.1.2.3', 'fd12::1', '192.0.2.7']) expect(clientAddress(peer, '203.0.113.7', trusted), peer).toBe('203.0.113.7');
    for (const peer of ['11.0.0.1', 'fe80::1', '192.0.2.8']) expect(clientAddress(peer, '203.0.113.7', trusted), peer).toBe(peer);
    // Proxies in a network are skipped in X-Forwarded-For too, read from the right.
    expect(clientAddress('10.0.0.1', '203.0.113.7, 198.51.100.2, 10.9.9.9', trusted)).toBe('198.51.100.2');
  });
});

describe('a peer on a unix socket (no address): trusted with unix or *', () => {
  for (const peer of [undefined, '']) {
    test(`peer ${JSON.stringify(peer)}`, () => {
      expect(clientAddress(peer, '203.0.113.7', parseTrustedProxies('127.0.0.1,::1,unix'))).toBe('203.0.113.7');
      expect(clientAddress(peer, '203.0.113.7', parseTrustedProxies('*'))).toBe('203.0.113.7');
      expect(clientAddress(peer, '203.0.113.7', parseTrustedProxies('127.0.0.1,::1,10.0.0.0/8'))).toBe(peer);
      expect(clientAddress(peer, 'not-an-address', parseTrustedProxies('unix'))).toBe(peer);
    });
  }
});
