import { describe, expect, it } from 'vitest';
import { createRateLimiter } from './rate-limiter.js';

describe('callback rate limiter', () => {
  it('lets a burst through, then refuses until tokens come back, per address', () => {
    let t = 0;
    const limiter = createRateLimiter({ burst: 3, perSecond: 2 }, () => t);
    expect([1, 2, 3, 4].map(() => limiter.take('203.0.113.1'))).toEqual([true, true, true, false]);
    expect(limiter.take('203.0.113.2')).toBe(true);
    t = 500;
    expect(limiter.take('203.0.113.1')).toBe(true);
    expect(limiter.take('203.0.113.1')).toBe(false);
  });

  it('never limits exempt addresses and stays bounded in memory', () => {
    const limiter = createRateLimiter({
      burst: 1,
      perSecond: 0,
      exempt: (a) => a === '127.0.0.1',
      maxAddresses: 10,
    });
    for (let i = 0; i < 100; i++) expect(limiter.take('127.0.0.1')).toBe(true);
    for (let i = 0; i < 1000; i++) limiter.take(`198.51.100.${i % 250}`);
    expect(limiter.take('198.51.100.251')).toBe(true);
  });
});
