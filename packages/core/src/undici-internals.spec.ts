// One test per member of undici's objects that undici-internals.ts reads, named after it, run on every
// Node version CI runs: a release that changes one fails here, saying which.
import { expect, test } from 'vitest';
import { hasUndiciResponseState, undiciBodySource } from './undici-internals.js';

const major = Number(process.versions.node.split('.')[0]);

test('Response[Symbol(state)].body.source: the string or bytes it was made from, until read (undici 6, Node 22; private fields from Node 24)', async () => {
  expect(hasUndiciResponseState()).toBe(major <= 22);
  const bytes = new TextEncoder().encode('bytes');
  if (!hasUndiciResponseState()) {
    expect(undiciBodySource(new Response('text'))).toBeUndefined(); // streamed instead: nothing read from elsewhere
    return;
  }
  expect(undiciBodySource(new Response('text'))).toBe('text');
  expect(undiciBodySource(new Response(bytes))).toEqual(bytes);
  expect(undiciBodySource(new Response(null))).toBeNull();
  expect(undiciBodySource(new Response(new ReadableStream()))).toBeUndefined();
  const read = new Response('read');
  await read.text();
  expect(undiciBodySource(read)).toBeUndefined();
  const locked = new Response('locked');
  locked.body!.getReader();
  expect(undiciBodySource(locked)).toBeUndefined();
});
