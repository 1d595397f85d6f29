import { describe, expect, test } from 'vitest';
import { clientAddress, parseTrustedProxies } from './proxy.js';

describe('parseTrustedProxies: IP addresses separated by commas, or *', () => {
  test.each([
    ['notanip', 'notanip'],
    ['10.0.0.1,proxy.internal', 'proxy.internal'],
    ['*, 10.0.0.300', '10.0.0.300'],
    ['10.0.0.0/8', '10.0.0.0/8'],
  ])('%j is refused, naming %j', (value, bad) => {
    expect(() => parseTrustedProxies(value)).toThrow(`Invalid --forwarded-allow-ips "${bad}" (expected IP addresses separated by commas, or * for every peer)`);
  });

  test('the option named is the one the value came from', () => {
    expect(() => parseTrustedProxies('x', '--config key')).toThrow('Invalid --config key "x"');
  });

  test('addresses, IPv4 also as IPv4-mapped IPv6; * trusts every peer', () => {
    const trusted = parseTrustedProxies(' 10.0.0.1 ,::1,');
    expect(trusted).toEqual({ all: false, addresses: new Set(['10.0.0.1', '::ffff:10.0.0.1', '::1']) });
    expect(clientAddress('::ffff:10.0.0.1', '203.0.113.7', trusted)).toBe('203.0.113.7');
    expect(parseTrustedProxies('10.0.0.1,*')).toEqual({ all: true });
  });
});
