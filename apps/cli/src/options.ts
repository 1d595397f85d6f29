// The command line, --help and the merge of command line over config file, all derived from OPTIONS.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ChaussetteError, refuseSharedPrefixes } from '@chaussette/core';
import {
  type CliOptions,
  type ConfigValues,
  configKeyOf,
  type FlagValueOf,
  HELP_INTRO,
  HELP_SECTIONS,
  OPTION_ENTRIES,
  type OptionName,
  type OptionSpec,
  OPTIONS,
} from './option-table.js';

export { type CliOptions, DEFAULT_LISTEN, type LogLevel } from './option-table.js';

type Flagged = Extract<OptionSpec, { flag: string }>;
type FlagName = { [Name in OptionName]: (typeof OPTIONS)[Name] extends { flag: string } ? Name : never }[OptionName];

const FLAG_ENTRIES = OPTION_ENTRIES.filter((entry): entry is [FlagName, Flagged] => entry[1].flag !== undefined);

const repeats = (option: OptionSpec) => option.type === 'array of strings' || option.type === 'object of strings';

const PARSE_ARGS_OPTIONS: NonNullable<ParseArgsConfig['options']> = Object.fromEntries(
  FLAG_ENTRIES.map(([, option]) => [
    option.flag,
    { type: option.type === 'boolean' ? 'boolean' : 'string', ...(option.short && { short: option.short }), ...(repeats(option) && { multiple: true }) },
  ]),
);

// A value that starts with a dash (`--port -1`) would read as an option; keep it a value, to be validated.
const VALUE_OPTIONS = new Set(
  FLAG_ENTRIES.flatMap(([, option]) => (option.type === 'boolean' ? [] : [`--${option.flag}`, ...(option.short ? [`-${option.short}`] : [])])),
);
function keepDashedValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    const next = argv[index + 1];
    if (VALUE_OPTIONS.has(arg) && next !== undefined && /^-\d/.test(next)) {
      out.push(arg.startsWith('--') ? `${arg}=${next}` : `${arg}${next}`);
      index++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

export interface CommandLine {
  /** The flags given, by the table's names (`fdName` for --fd-name). */
  values: { [Name in FlagName]?: FlagValueOf<(typeof OPTIONS)[Name]['type']> };
  positionals: string[];
}

/** The flags and positionals as given, unchecked: enough to find --config before the options resolve. */
export function readCommandLine(argv: readonly string[]): CommandLine {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: keepDashedValues(argv), options: PARSE_ARGS_OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new ChaussetteError(`${describeParseError(error)}. Run chaussette --help for the options`, { cause: error });
  }
  const values = Object.fromEntries(FLAG_ENTRIES.map(([name, option]) => [name, parsed.values[option.flag]])) as CommandLine['values'];
  return { values, positionals: parsed.positionals };
}

/** The options: the command line's, then the config file's (see config.ts), then the defaults. */
export function parseCommandLine(argv: readonly string[], config: ConfigValues = {}): CliOptions {
  return resolveOptions(readCommandLine(argv), config);
}

export function resolveOptions(commandLine: CommandLine, config: ConfigValues): CliOptions {
  const served = whatToServe(commandLine, config);
  const options: Record<string, unknown> = { ...served };
  const limits: Record<string, unknown> = {};
  for (const [name, option] of OPTION_ENTRIES) {
    if (name in served) continue;
    const value = resolveOption(name, option, commandLine.values, config);
    if (option.limit === undefined) options[name] = value;
    else if (value !== undefined) limits[option.limit] = value;
  }
  options.limits = limits;
  return options as unknown as CliOptions;
}

/** The flag's value, else the config file's, checked; else the default. */
function resolveOption(name: OptionName, option: OptionSpec, flags: CommandLine['values'], config: ConfigValues): unknown {
  const key = configKeyOf(name, option);
  const given = flags[name as FlagName] ?? (key === undefined ? undefined : config[key as keyof ConfigValues]);
  if (given === undefined) return option.default;
  return option.parse ? (option.parse as (given: unknown, option: string) => unknown)(given, `--${option.flag ?? key}`) : given;
}

/** The application and its arguments (the positionals, or the config file's), and the mounts, with the application at `/`. */
function whatToServe({ values, positionals }: CommandLine, config: ConfigValues): Pick<CliOptions, 'application' | 'arguments' | 'mounts'> {
  const [application, ...args] = positionals.length > 0 ? positionals : config.app === undefined ? [] : [config.app, ...(config.arguments ?? [])];
  const given = resolveOption('mounts', OPTIONS.mounts, values, config) as CliOptions['mounts'];
  const mounts = given.length > 0 && application !== undefined ? [...given, { prefix: '/', spec: application }] : given;
  refuseSharedPrefixes(
    mounts.map(({ prefix }) => prefix),
    ' (the application argument is mounted at /)',
  );
  return { application, arguments: args, mounts };
}

// Descriptions start at this column, or further right in a section whose flags are longer.
const HELP_COLUMN = 28;

export const USAGE = [
  HELP_INTRO,
  ...Object.entries(HELP_SECTIONS).map(([section, heading]) => helpSection(heading, FLAG_ENTRIES.filter(([, option]) => option.section === section))),
].join('\n\n');

function helpSection(heading: string, entries: [FlagName, Flagged][]): string {
  const labels = entries.map(([, option]) => `  ${option.short ? `-${option.short}, ` : ''}--${option.flag}${option.valueName ? ` ${option.valueName}` : ''}`);
  const column = Math.max(HELP_COLUMN, ...labels.map((label) => label.length + 1));
  const lines = entries.flatMap(([, option], index) => {
    const [first, ...more] = typeof option.help === 'string' ? [option.help] : option.help;
    return [`${labels[index]!.padEnd(column)}${first}`, ...more.map((line) => `${' '.repeat(column)}${line}`)];
  });
  return (heading ? [heading, ...lines] : lines).join('\n');
}

function describeParseError(error: unknown): string {
  const { code, message = '' } = error as { code?: string; message?: string };
  const given = /'(-[^' ]+)/.exec(message)?.[1] ?? 'an option';
  const flag = FLAG_ENTRIES.find(([, option]) => option.flag === /--([\w-]+)/.exec(message)?.[1])?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `Unknown option ${given}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (!flag) return `Invalid value for ${given}`;
      if (message.includes('argument missing')) return `${spelledBothWays(flag)} needs a value${flag.example === undefined ? '' : `, e.g. --${flag.flag} ${flag.example}`}`;
      return `${spelledBothWays(flag)} takes no value: give it alone to turn it on`;
    default:
      return message.split('\n', 1)[0] || 'Invalid command line';
  }
}

/** `-b/--bind`, or `--port` for a flag with no short form. */
function spelledBothWays(option: Flagged): string {
  return `${option.short ? `-${option.short}/` : ''}--${option.flag}`;
}
