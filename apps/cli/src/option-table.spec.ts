import { describe, expect, test } from 'vitest';
import { OPTION_ENTRIES } from './option-table.js';
import { parseCommandLine } from './options.js';

const valueFlags = OPTION_ENTRIES.flatMap(([, option]) => (option.flag !== undefined && option.type !== 'boolean' ? [option] : []));

describe('the example each flag with a value shows when the value is missing', () => {
  test.each(valueFlags.map((option) => [`--${option.flag}`, option] as const))('%s has one, and its own check takes it', (flag, option) => {
    expect(option.example).toBeDefined();
    // A flag that repeats hands its parser the list of values given.
    const given = option.type === 'array of strings' || option.type === 'object of strings' ? [option.example] : option.example;
    expect(() => option.parse?.(given as never, flag)).not.toThrow();
  });
});

describe('--port and --forwarded-allow-ips are checked as they are read, from the command line or a config file', () => {
  test.each([
    [['--port', '65536'], {}, 'Invalid --port "65536" (expected an integer from 0 to 65535)'],
    [[], { port: '70000' }, 'Invalid --port "70000"'],
    [['--forwarded-allow-ips', '10.0.0.1,proxy.internal'], {}, 'Invalid --forwarded-allow-ips "proxy.internal"'],
    [[], { forwardedAllowIps: '10.0.0.0/33' }, 'Invalid --forwarded-allow-ips "10.0.0.0/33" (expected IP addresses or networks (10.0.0.0/8) separated by commas, unix for peers on a unix socket, or * for every peer)'],
  ])('%j with config %j', (argv, config, message) => {
    expect(() => parseCommandLine(argv, config)).toThrow(message);
  });

  test('valid ones pass through: the port as a number, the proxies as given', () => {
    expect(parseCommandLine(['--port', '8000', '--forwarded-allow-ips', '10.0.0.1, ::1,*'])).toMatchObject({ port: 8000, forwardedAllowIps: '10.0.0.1, ::1,*' });
    expect(parseCommandLine([], { port: '0' })).toMatchObject({ port: 0, forwardedAllowIps: '127.0.0.1,::1,unix' });
  });
});
