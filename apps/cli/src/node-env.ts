import type { Logger } from 'pino';

/**
 * NODE_ENV as Node production users expect it: set to production when unset (Express then keeps stack
 * traces out of 500 pages, React Router and Next.js run their production builds), to development under
 * --use-reloader; a value the user set is kept. Says so at start-up.
 */
export function defaultNodeEnv(useReloader: boolean, logger: Logger, env: NodeJS.ProcessEnv = process.env): void {
  if (env.NODE_ENV !== undefined) return;
  env.NODE_ENV = useReloader ? 'development' : 'production';
  logger.info(`NODE_ENV was not set: it is ${env.NODE_ENV}${useReloader ? ' (--use-reloader)' : ''}; set it to choose another`);
}
