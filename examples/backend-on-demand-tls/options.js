// @ts-check
// The backend's options, from the config file's backendOptions: { "directory": "…", "defaultName": "…" }.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ChaussetteError, errorMessage } from '@chaussette/core';
import { serverNameOf } from './server-name.js';

const OPTIONS = ['directory', 'defaultName'];

/**
 * @typedef {object} OnDemandOptions
 * @property {string} directory Absolute: one folder per server name, each with fullchain.pem and privkey.pem.
 * @property {string | undefined} defaultName The name whose certificate serves handshakes without SNI or for an unknown name.
 */

/**
 * @param {Readonly<Record<string, unknown>>} backendOptions
 * @returns {OnDemandOptions}
 */
export function readOptions(backendOptions) {
  const unknown = Object.keys(backendOptions).filter((name) => !OPTIONS.includes(name));
  if (unknown.length > 0) {
    throw new ChaussetteError(`The on-demand-tls backend takes backendOptions directory and defaultName, not ${unknown.join(', ')}`);
  }
  return { directory: readDirectory(backendOptions.directory), defaultName: readDefaultName(backendOptions.defaultName) };
}

/** @param {unknown} directory */
function readDirectory(directory) {
  if (typeof directory !== 'string' || directory === '') {
    throw new ChaussetteError(
      'The on-demand-tls backend needs backendOptions.directory: the folder of one folder per server name with fullchain.pem and privkey.pem (certbot\'s /etc/letsencrypt/live), in the --config file',
    );
  }
  try {
    if (!statSync(directory).isDirectory()) throw new Error('not a directory');
  } catch (error) {
    throw new ChaussetteError(`Invalid backendOptions.directory "${directory}": ${errorMessage(error)} (expected a folder of certificates)`, { cause: error });
  }
  return resolve(directory);
}

/** @param {unknown} defaultName */
function readDefaultName(defaultName) {
  if (defaultName === undefined) return undefined;
  const name = typeof defaultName === 'string' ? serverNameOf(defaultName) : undefined;
  if (!name) throw new ChaussetteError(`Invalid backendOptions.defaultName ${JSON.stringify(defaultName)} (expected a server name, like example.com)`);
  return name;
}
