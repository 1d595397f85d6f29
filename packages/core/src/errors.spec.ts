import { expect, test } from 'vitest';
import { refuseBackendOptions } from './errors.js';

test('refuseBackendOptions() lets through the options a backend takes, and names them when others are given', () => {
  expect(() => refuseBackendOptions({ chunkedBehindProxy: true }, 'uws', ['chunkedBehindProxy'])).not.toThrow();
  expect(() => refuseBackendOptions(undefined, 'node')).not.toThrow();
  expect(() => refuseBackendOptions({ chunkedBehindProxy: true, bodyLimit: 1 }, 'uws', ['chunkedBehindProxy'])).toThrow(
    'The uws backend takes only chunkedBehindProxy of backendOptions (given: bodyLimit); remove the others from the config file',
  );
  expect(() => refuseBackendOptions({ bodyLimit: 1 }, 'node')).toThrow('The node backend takes no backendOptions (given: bodyLimit); remove them from the config file');
});
