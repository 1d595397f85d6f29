// --config FILE: the long options in camelCase, plus `app` and `arguments`, from a JSON file or a
// JavaScript/TypeScript module (its default export). Command-line flags override it.
import { existsSync, readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { ChaussetteError, describeValue, errorCode, errorMessage, importModule } from '@chaussette/core';
import { type ConfigValue, type ConfigValues, configKeyOf, OPTION_ENTRIES, type OptionSpec } from './option-table.js';

export type { ConfigValues } from './option-table.js';

/** The config file's keys, in the table's order, with the option each gives. */
const CONFIG_OPTIONS = new Map(
  OPTION_ENTRIES.flatMap(([name, option]) => {
    const key = configKeyOf(name, option);
    return key === undefined ? [] : [[key, option] as const];
  }),
);

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
  const unknown = entries.map(([key]) => key).filter((key) => !CONFIG_OPTIONS.has(key));
  if (unknown.length > 0) {
    throw new ChaussetteError(
      `${label}: unknown ${unknown.length === 1 ? 'key' : 'keys'} ${unknown.map((key) => JSON.stringify(key)).join(', ')}. Known keys: ${[...CONFIG_OPTIONS.keys()].join(', ')}`,
    );
  }
  const config: Record<string, ConfigValue> = {};
  for (const [key, item] of entries) {
    if (item === undefined || item === null) continue;
    const option = CONFIG_OPTIONS.get(key)!;
    const checked = asGiven(option, item);
    if (checked === undefined) throw new ChaussetteError(`${label}: "${key}" must be ${/^[aeiou]/.test(option.type) ? 'an' : 'a'} ${option.type}, not ${describeValue(item)}`);
    config[key] = checked;
  }
  return config as ConfigValues;
}

/** The value as the command line would give it (a number as text); undefined when it has the wrong type. */
function asGiven(option: OptionSpec, item: unknown): ConfigValue | undefined {
  const isObject = typeof item === 'object' && !Array.isArray(item);
  switch (option.type) {
    case 'string':
      return typeof item === 'string' ? item : undefined;
    case 'number or string':
      return typeof item === 'string' || typeof item === 'number' ? String(item) : undefined;
    case 'boolean':
      return typeof item === 'boolean' ? item : undefined;
    case 'object':
      return isObject ? (item as Record<string, unknown>) : undefined;
    case 'object of strings':
      return isObject && Object.values(item as object).every((element) => typeof element === 'string') ? (item as Record<string, string>) : undefined;
    case 'array of strings': {
      // A flag that repeats (--bind) may be given once, as a string.
      const list = option.flag !== undefined && typeof item === 'string' ? [item] : item;
      return Array.isArray(list) && list.every((element) => typeof element === 'string') ? list : undefined;
    }
  }
}
