import type { Logger } from 'pino';

// PM2 passes each app its settings in the environment (`pm_id`, and `kill_timeout` when set), and takes
// `process.send('ready')` for `wait_ready` and a 'shutdown' message for `shutdown_with_message`: all as
// its docs describe them (pm2.keymetrics.io/docs/usage/signals-clean-restart).
const PM2_DEFAULT_KILL_TIMEOUT_MS = 1600;

export function runByPm2(): boolean {
  return process.env.pm_id !== undefined;
}

/** Under PM2: warns when PM2 would kill chaussette (SIGKILL) before --graceful-timeout lets requests in flight finish. */
export function warnWhenPm2KillsFirst(gracefulTimeoutSeconds: number, logger: Logger): void {
  if (!runByPm2()) return;
  const configured = Number(process.env.kill_timeout);
  const killTimeoutMs = configured > 0 ? configured : PM2_DEFAULT_KILL_TIMEOUT_MS;
  if (killTimeoutMs > gracefulTimeoutSeconds * 1000) return;
  const setting = configured > 0 ? 'kill_timeout' : "kill_timeout, PM2's default";
  logger.warn(
    `PM2 kills this process ${killTimeoutMs / 1000} s after asking it to stop (${setting}), before --graceful-timeout ${gracefulTimeoutSeconds} s ends: ` +
      `requests still in flight then fail. Set kill_timeout: ${(gracefulTimeoutSeconds + 5) * 1000} in ecosystem.config.js`,
  );
}

/** Under PM2: stops as on SIGINT when PM2 sends 'shutdown' (shutdown_with_message), and says 'ready' once serving (wait_ready). */
export function answerPm2(stop: () => void): { serving(): void } {
  if (!runByPm2()) return { serving() {} };
  process.on('message', (message) => {
    if (message === 'shutdown') stop();
  });
  return { serving: () => process.send?.('ready') };
}
