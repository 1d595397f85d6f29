// What every concern of the kit is given: the backend under test (resolved once the suite runs), the
// suite's options, and the fixture servers the cases talk to.
import { afterAll, beforeAll } from 'vitest';
import { type App, type AppKind, type Backend, type BoundAddress, type ListenTarget, type Logger, type RunningServer, startServer, type StartOptions } from '@chaussette/core';
import { createFixtureApps, type FixtureApps } from './apps.js';
import { getServed, servedBaseline } from './baseline.js';
import type { ConformanceOptions } from './index.js';

export interface Kit {
  /** The backend under test: resolved in the suite's beforeAll, so call it from hooks and cases only. */
  backend(): Backend;
  options: ConformanceOptions;
  /** Where the backend is resolved from (ConformanceOptions.searchFrom, or the current directory). */
  searchFrom: string[];
}

export const APP_KINDS: AppKind[] = ['node', 'fetch'];

export const loopback = (port = 0): ListenTarget => ({ type: 'tcp', host: '127.0.0.1', port, backlog: 511 });

/** A logger that keeps what the server logged, so tests can check that app errors are reported. */
export function recordingLogger(): Logger & { errors: { err: unknown; message: string }[] } {
  const errors: { err: unknown; message: string }[] = [];
  return { errors, debug() {}, info() {}, warn() {}, error: ({ err }, message) => void errors.push({ err, message }) };
}

/** Why a case of `kind` is skipped on a backend that does not serve that kind, or undefined. */
export function kindSkipped(kit: Kit, kind: AppKind): string | undefined {
  const backend = kit.backend();
  return backend.appKinds.includes(kind) ? undefined : `the ${backend.name} backend does not serve ${kind} apps`;
}

/** A server of the kit's fixture app of `kind` on 127.0.0.1, started with the suite's backendOptions. */
export async function serveFixture(kit: Kit, kind: AppKind, extra: Partial<StartOptions> = {}): Promise<{ server: RunningServer; address: BoundAddress; fixtures: FixtureApps }> {
  const fixtures = createFixtureApps();
  const server = await startServer({
    app: fixtures[kind],
    backend: kit.backend(),
    targets: [loopback()],
    logger: recordingLogger(),
    backendOptions: kit.options.backendOptions,
    ...extra,
  });
  return { server, address: server.listening[0]!.bound, fixtures };
}

export interface SharedFixture {
  address: BoundAddress;
  fixtures: FixtureApps;
  logger: ReturnType<typeof recordingLogger>;
}

/**
 * One fixture server of `kind` for the cases of the current describe: started in beforeAll (unless the
 * backend does not serve that kind), closed in afterAll. Read it from the cases, once it is started.
 * `app`: serve this app (of `kind`) instead of the fixture app (it answers GET / as the fixture app does).
 * Its first case is the served baseline (see baseline.ts).
 */
export function sharedFixture(kit: Kit, kind: AppKind, app?: () => App): SharedFixture {
  const shared = { logger: recordingLogger() } as SharedFixture;
  let server: RunningServer | undefined;
  beforeAll(async () => {
    if (kindSkipped(kit, kind)) return;
    const extra = { logger: shared.logger, ...(app && { app: app() }) };
    ({ server, address: shared.address, fixtures: shared.fixtures } = await serveFixture(kit, kind, extra));
  });
  afterAll(() => server?.close(1000));
  servedBaseline({ check: getServed(() => shared.address), skipped: () => kindSkipped(kit, kind) });
  return shared;
}
