import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';

describe('backoff with full jitter', () => {
  it('draws each delay from [0, min(max, base·2^attempt))', () => {
    const top = new Backoff(500, 30_000, () => 0.999999);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(() => top.next())).toEqual([
      499, 999, 1999, 3999, 7999, 15_999, 29_999, 29_999,
    ]);
    const bottom = new Backoff(500, 30_000, () => 0);
    expect([1, 2, 3].map(() => bottom.next())).toEqual([0, 0, 0]);
  });

  it('stays within bounds with the real random source, and is capped', () => {
    const b = new Backoff(100, 1_000);
    for (let i = 0; i < 200; i++) {
      const ceiling = b.ceiling();
      const d = b.next();
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(ceiling);
      expect(ceiling).toBeLessThanOrEqual(1_000);
    }
  });

  it('does not overflow after very many attempts', () => {
    const b = new Backoff(500, 30_000, () => 0.5);
    for (let i = 0; i < 10_000; i++) b.next();
    expect(b.next()).toBe(15_000);
  });

  it('reset starts again from the base', () => {
    const b = new Backoff(500, 30_000, () => 0.999999);
    for (let i = 0; i < 10; i++) b.next();
    b.reset();
    expect(b.next()).toBe(499);
  });

  it('penalty is never below the max', () => {
    expect(new Backoff(500, 30_000, () => 0).penalty()).toBe(30_000);
    expect(new Backoff(500, 30_000, () => 0.999999).penalty()).toBe(35_999);
  });

  it('a cap lowers the ceiling for one delay without changing the maximum', () => {
    const b = new Backoff(1_000, 30_000, () => 0.999999);
    expect([1, 2, 3, 4].map(() => b.next(3_000))).toEqual([999, 1999, 2999, 2999]);
    expect(b.next()).toBe(15_999);
  });

  it('jitter draws from its window, within the maximum, and counts no attempt', () => {
    const b = new Backoff(500, 800, () => 0.999999);
    expect(b.jitter(1_000)).toBe(799);
    expect(b.jitter(100)).toBe(99);
    expect(b.attempts).toBe(0);
  });
});
