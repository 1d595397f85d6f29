import type { Framework } from './index.js';

/** TODO(helper): recognise this framework's production build. */
export const astro: Framework = {
  name: 'astro',
  recognize: () => undefined,
};
