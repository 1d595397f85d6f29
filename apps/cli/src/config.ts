// --config FILE: the long options in camelCase, plus `app` and `arguments`, from a JSON file or a
// JavaScript/TypeScript module (its default export). Command-line flags override it.
import { existsSync, readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { ChaussetteError, describeValue, errorCode, errorMessage, importModule } from '@chaussette/core';

type Kind = 'string' | 'number or string' | 'array of strings' | 'boolean' | 'object' | 'object of strings';

const KEYS = {
  app: 'string',
  arguments: 'array of strings',
  mounts: 'object of strings',
  host: 'string',
  port: 'number or string',
  fd: 'number or string',
  fdName: 'string',
  bind: 'array of strings',
  backlog: 'number or string',
  reusePort: 'boolean',
  socketMode: 'string',
  backend: 'string',
  interface: 'string',
  factory: 'boolean',
  gracefulTimeout: 'number or string',
  preHook: 'string',
  postHook: 'string',
  logLevel: 'string',
  logOutput: 'string',
  logFormat: 'string',
  accessLog: 'string',
  accessLogFormat: 'string',
  proxyHeaders: 'boolean',
  peercreds: 'boolean',
  useReloader: 'boolean',
  backendOptions: 'object',
  forwardedAllowIps: 'string',
  limitRequestBody: 'number or string',
  limitRequestLine: 'number or string',
  limitRequestHeaders: 'number or string',
  timeoutHeaders: 'number or string',
  timeoutKeepAlive: 'number or string',
  limitConcurrency: 'number or string',
  maxRequests: 'number or string',
  maxRequestsJitter: 'number or string',
  onUnhandledRejection: 'string',
} as const satisfies Record<string, Kind>;

export type ConfigKey = keyof typeof KEYS;

/** A config file's values, as the command line would give them: strings, string lists, booleans. */
export type ConfigValues = Partial<Record<Exclude<ConfigKey, 'arguments' | 'mounts' | 'bind' | 'factory' | 'proxyHeaders' | 'peercreds' | 'reusePort' | 'useReloader' | 'backendOptions'>, string>> & {
  /** Options for the backend's engine (e.g. Fastify's factory options): the file is the only place for them. */
  backendOptions?: Record<string, unknown>;
  arguments?: string[];
  /** `{ "/api": "./api.mjs" }`: each entry a --mount. */
  mounts?: Record<string, string>;
  bind?: string[];
  factory?: boolean;
  proxyHeaders?: boolean;
  peercreds?: boolean;
  reusePort?: boolean;
  useReloader?: boolean;
};

export async function loadConfig(file: string, cwd: string): Promise<ConfigValues> {
  const path = resolve(cwd, file);
  const label = `--config ${file}`;
  let value: unknown;
  if (extname(path) === '.json') {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new ChaussetteError(
        errorCode(error) === 'ENOENT' ? `${label}: no such file (${path})` : `${label}: cannot read it: ${errorMessage(error)}`,
        { cause: error },
      );
    }
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ChaussetteError(`${label} is not valid JSON: ${errorMessage(error)}`, { cause: error });
    }
  } else {
    if (!existsSync(path)) throw new ChaussetteError(`${label}: no such file (${path})`);
    const namespace = await importModule(path, label);
    value = 'default' in namespace ? namespace.default : namespace;
  }
  return validate(value, label);
}

function validate(value: unknown, label: string): ConfigValues {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ChaussetteError(`${label} must hold an object of options (e.g. {"app": "app.js", "port": 8000}), not ${describeValue(value)}`);
  }
  const entries = Object.entries(value as Record<string, unknown>);
  const unknown = entries.map(([key]) => key).filter((key) => !(key in KEYS));
  if (unknown.length > 0) {
    throw new ChaussetteError(
      `${label}: unknown ${unknown.length === 1 ? 'key' : 'keys'} ${unknown.map((key) => JSON.stringify(key)).join(', ')}. Known keys: ${Object.keys(KEYS).join(', ')}`,
    );
  }
  const config: Record<string, unknown> = {};
  for (const [key, item] of entries) {
    if (item === undefined || item === null) continue;
    const kind = KEYS[key as ConfigKey];
    const wrong = () => new ChaussetteError(`${label}: "${key}" must be ${kind === 'array of strings' || kind === 'object of strings' ? `an ${kind}` : kind === 'object' ? 'an object' : `a ${kind}`}, not ${describeValue(item)}`);
    switch (kind) {
      case 'string':
        if (typeof item !== 'string') throw wrong();
        config[key] = item;
        break;
      case 'number or string':
        if (typeof item !== 'string' && typeof item !== 'number') throw wrong();
        config[key] = String(item);
        break;
      case 'boolean':
        if (typeof item !== 'boolean') throw wrong();
        config[key] = item;
        break;
      case 'object':
        if (typeof item !== 'object' || Array.isArray(item)) throw wrong();
        config[key] = item;
        break;
      case 'object of strings':
        if (typeof item !== 'object' || Array.isArray(item) || !Object.values(item).every((element) => typeof element === 'string')) throw wrong();
        config[key] = item;
        break;
      case 'array of strings': {
        // A single bind address may be given as a string.
        const list = key === 'bind' && typeof item === 'string' ? [item] : item;
        if (!Array.isArray(list) || !list.every((element) => typeof element === 'string')) throw wrong();
        config[key] = list;
        break;
      }
    }
  }
  return config as ConfigValues;
}
