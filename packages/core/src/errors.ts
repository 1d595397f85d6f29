/**
 * An error the user can fix: its message is one line that says what is wrong and what to do.
 * The CLI prints only the message; the cause (with its stack) shows at `--log-level debug`.
 */
export class ChaussetteError extends Error {
  override name = 'ChaussetteError';
}

export function isChaussetteError(error: unknown): error is ChaussetteError {
  return error instanceof ChaussetteError;
}

/** `Invalid --port "abc" (expected an integer from 0 to 65535)`. */
export function invalidOption(option: string, value: unknown, expected: string): ChaussetteError {
  return new ChaussetteError(`Invalid ${option} ${JSON.stringify(String(value))} (expected ${expected})`);
}

/** The errno code of a Node system error, if it is one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** backendOptions (ServeOptions) other than those `backend` takes are an error that says which it takes. */
export function refuseBackendOptions(options: Readonly<Record<string, unknown>> | undefined, backend: string, taken: readonly string[] = []): void {
  const unknown = Object.keys(options ?? {}).filter((key) => !taken.includes(key));
  if (unknown.length === 0) return;
  const takes = taken.length === 0 ? 'no backendOptions' : `only ${taken.join(', ')} of backendOptions`;
  throw new ChaussetteError(`The ${backend} backend takes ${takes} (given: ${unknown.join(', ')}); remove ${taken.length === 0 ? 'them' : 'the others'} from the config file`);
}
