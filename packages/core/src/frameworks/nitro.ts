import type { Framework } from './index.js';

/** TODO(helper): recognise this framework's production build. */
export const nitro: Framework = {
  name: 'nitro',
  recognize: () => undefined,
};
