import type { Framework } from './index.js';

/** TODO(helper): recognise this framework's production build. */
export const next: Framework = {
  name: 'next',
  recognize: () => undefined,
};
