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

/** For a backend that takes no backendOptions (ServeOptions): any given is an error that says so. */
export function refuseBackendOptions(options: Readonly<Record<string, unknown>> | undefined, backend: string): void {
  const keys = Object.keys(options ?? {});
  if (keys.length > 0) {
    throw new ChaussetteError(`The ${backend} backend takes no backendOptions (given: ${keys.join(', ')}); remove them from the config file`);
  }
}
