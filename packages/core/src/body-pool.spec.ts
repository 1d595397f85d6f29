import { describe, expect, test } from 'vitest';
import { copyBytes, recycleBody } from './body-pool.js';

const filled = (length: number, value: number) => new Uint8Array(length).fill(value);

describe('the pool of large body copies', () => {
  test('copies the bytes: a later change to the original does not reach the copy', () => {
    for (const length of [0, 100, 64 * 1024, 3 * 1024 * 1024]) {
      const original = filled(length, 1);
      const copy = copyBytes(original);
      original.fill(2);
      expect(copy.byteLength).toBe(length);
      expect(copy.every((byte) => byte === 1)).toBe(true);
    }
  });

  test('a recycled buffer serves the next copy of a similar size, once', () => {
    const first = copyBytes(filled(60 * 1024, 1));
    recycleBody(first);
    recycleBody(first); // a second hand-back must not put it in the pool twice
    const second = copyBytes(filled(50 * 1024, 2));
    const third = copyBytes(filled(50 * 1024, 3));
    expect(second.buffer).toBe(first.buffer);
    expect(third.buffer).not.toBe(first.buffer);
    expect(second.every((byte) => byte === 2)).toBe(true);
    expect(third.every((byte) => byte === 3)).toBe(true);
  });

  test('ignores what it did not lend: small copies, strings, null, the app\'s own bytes', () => {
    const small = copyBytes(filled(100, 1));
    const own = new Uint8Array(new ArrayBuffer(64 * 1024));
    for (const body of [small, own, 'text', null]) recycleBody(body);
    const next = copyBytes(filled(64 * 1024, 4));
    expect(next.buffer).not.toBe(own.buffer);
    expect(next.buffer).not.toBe(small.buffer);
  });

  test('keeps at most 4 MiB idle', () => {
    const lent = Array.from({ length: 6 }, () => copyBytes(filled(1024 * 1024, 5)));
    for (const body of lent) recycleBody(body);
    const again = Array.from({ length: 6 }, () => copyBytes(filled(1024 * 1024, 6)));
    const reused = again.filter((body) => lent.some((old) => old.buffer === body.buffer));
    expect(reused).toHaveLength(4);
  });
});
