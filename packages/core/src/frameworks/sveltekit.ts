import type { Framework } from './index.js';

/** TODO(helper): recognise this framework's production build. */
export const sveltekit: Framework = {
  name: 'sveltekit',
  recognize: () => undefined,
};
