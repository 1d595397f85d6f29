const PARENT_CHECK_INTERVAL_MS = 1000;
// Read as the CLI starts: npm may be gone before the app has loaded and the check begins.
const parentAtStart = process.ppid;

/**
 * npx and `npm run` start chaussette through a shell and do not pass SIGTERM on: npm exits and chaussette
 * would serve on, an orphan nobody stops. Started by a package manager (which sets
 * npm_config_user_agent), chaussette stops as on SIGTERM once the process that started it is gone.
 */
export function stopWhenPackageManagerExits(stop: () => void): void {
  if (process.env.npm_config_user_agent === undefined) return;
  const check = setInterval(() => {
    if (process.ppid === parentAtStart) return;
    clearInterval(check);
    stop();
  }, PARENT_CHECK_INTERVAL_MS);
  check.unref();
}
