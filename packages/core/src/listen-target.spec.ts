import { describe, expect, test } from 'vitest';
import { formatAddress, formatListenAddress, parseBindSpec, parsePort, parseSocketMode } from './listen-target.js';

describe('parseBindSpec', () => {
  test.each([
    ['127.0.0.1:8080', { type: 'tcp', host: '127.0.0.1', port: 8080 }],
    ['localhost:0', { type: 'tcp', host: 'localhost', port: 0 }],
    ['[::1]:8080', { type: 'tcp', host: '::1', port: 8080 }],
    ['[::]:80', { type: 'tcp', host: '::', port: 80 }],
    ['unix:/run/app.sock', { type: 'unix', path: '/run/app.sock' }],
    ['unix:///tmp/legacy.sock', { type: 'unix', path: '/tmp/legacy.sock' }],
    ['fd://3', { type: 'fd', fd: 3 }],
    ['fd://0', { type: 'fd', fd: 0 }],
  ])('%s', (spec, expected) => {
    expect(parseBindSpec(spec)).toEqual(expected);
  });

  test('a relative unix path is resolved against the current directory', () => {
    expect(parseBindSpec('unix:app.sock')).toEqual({ type: 'unix', path: `${process.cwd()}/app.sock` });
  });

  test.each([
    ['localhost', 'Invalid --bind "localhost" (expected host:port, [ipv6]:port, unix:/path or fd://N)'],
    [':8080', 'Invalid --bind ":8080" (expected host:port, [ipv6]:port, unix:/path or fd://N)'],
    ['::1:8080', 'Invalid --bind "::1:8080" (expected an IPv6 address in brackets, e.g. [::1]:8080)'],
    ['[127.0.0.1]:80', 'Invalid --bind "[127.0.0.1]:80" (expected an IPv6 address inside the brackets)'],
    ['host:http', 'Invalid --bind "host:http" (expected an integer from 0 to 65535)'],
    ['[::1]:', 'Invalid --bind "[::1]:" (expected an integer from 0 to 65535)'],
    ['[::1]', 'Invalid --bind "[::1]" (expected a port after the IPv6 address, e.g. [::1]:8080)'],
    ['fd://-1', 'Invalid --bind "fd://-1" (expected a file descriptor number, 0 or more)'],
    ['fd://three', 'Invalid --bind "fd://three" (expected a file descriptor number, 0 or more)'],
    [`unix:/tmp/${'d'.repeat(120)}.sock`, 'expected a socket path of at most 107 bytes; this one has 130)'],
    ['unix:', 'Invalid --bind "unix:" (expected unix: followed by a socket path, e.g. unix:/run/app.sock)'],
  ])('rejects %s', (spec, message) => {
    expect(() => parseBindSpec(spec)).toThrow(message);
  });
});

describe('number options', () => {
  test.each(['0', '8080', '65535', 8080])('port %s is valid', (value) => {
    expect(parsePort(value)).toBe(Number(value));
  });
  test.each(['-1', '65536', 'abc', '', '80.5', '0x50', ' '])('port %j is not', (value) => {
    expect(() => parsePort(value)).toThrow(`Invalid --port ${JSON.stringify(value)} (expected an integer from 0 to 65535)`);
  });
  test.each([['660', 0o660], ['0660', 0o660], ['0o600', 0o600], ['1777', 0o1777]])('socket mode %s', (value, mode) => {
    expect(parseSocketMode(value)).toBe(mode);
  });
  test.each(['999', 'rw', '66'])('socket mode %s is not valid', (value) => {
    expect(() => parseSocketMode(value)).toThrow('expected an octal file mode such as 660');
  });
});

describe('formatAddress', () => {
  test.each([
    [{ type: 'tcp', host: '127.0.0.1', port: 8080 }, '127.0.0.1:8080'],
    [{ type: 'tcp', host: '::1', port: 8080 }, '[::1]:8080'],
    [{ type: 'tcp', host: '::', port: 0 }, '[::]:0'],
    [{ type: 'unix', path: '/run/app.sock' }, 'unix:/run/app.sock'],
    [{ type: 'fd', fd: 3 }, 'fd://3'],
  ] as const)('%j → %s', (address, text) => {
    expect(formatAddress(address)).toBe(text);
  });

  test('an inherited socket shows its fd and what it is bound to', () => {
    expect(formatListenAddress({ type: 'fd', fd: 0, family: 'tcp', backlog: 1 }, { type: 'tcp', host: '::1', port: 9000 })).toBe(
      'fd://0 ([::1]:9000)',
    );
  });
});
