import { describe, expect, test } from 'vitest';
import { globToRegExp } from './watch.js';

describe('globToRegExp: matched against the end of a path, or the whole of it from /', () => {
  test.each([
    ['*.html', '/srv/app/views/index.html', true],
    ['*.html', '/srv/app/index.htm', false],
    ['*.js', '/srv/app/app.mjs', false],
    ['views/*.html', '/srv/app/views/index.html', true],
    ['views/*.html', '/srv/app/views/partials/nav.html', false],
    ['views/**/*.html', '/srv/app/views/partials/nav.html', true],
    ['views/**/*.html', '/srv/app/views/index.html', true],
    ['uploads', '/srv/app/uploads', true],
    ['uploads', '/srv/app/my-uploads', false],
    ['uploads/', '/srv/app/uploads', true],
    ['uploads/**', '/srv/app/uploads/2026/a.js', true],
    ['./src/generated/*.js', '/srv/app/src/generated/routes.js', true],
    ['data.?son', '/srv/app/data.json', true],
    ['data.?son', '/srv/app/data/json', false],
    ['a+b(c).js', '/srv/app/a+b(c).js', true],
    ['/srv/app/*.mjs', '/srv/app/app.mjs', true],
    ['/srv/app/*.mjs', '/other/srv/app/app.mjs', false],
  ])('%s on %s: %s', (glob, path, matches) => {
    expect(globToRegExp(glob).test(path)).toBe(matches);
  });
});
