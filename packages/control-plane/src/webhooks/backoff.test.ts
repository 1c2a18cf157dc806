import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter } from './backoff.js';

describe('retry backoff', () => {
  const options = { baseMs: 1000, capMs: 30_000, retryAfterMaxMs: 60_000 };

  it('is full jitter: between 0 and min(cap, base * 2^(attempt-1))', () => {
    expect(backoffDelay(1, { ...options, random: () => 0 })).toBe(0);
    expect(backoffDelay(1, { ...options, random: () => 0.999999 })).toBe(999);
    expect(backoffDelay(3, { ...options, random: () => 0.5 })).toBe(2000);
    expect(backoffDelay(20, { ...options, random: () => 0.999999 })).toBe(29_999);
    for (let attempt = 1; attempt < 12; attempt++) {
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(attempt, options);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(Math.min(30_000, 1000 * 2 ** (attempt - 1)));
      }
    }
  });

  it('reads Retry-After as seconds or an HTTP date, and ignores what it cannot read', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(' 0 ')).toBe(0);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:05 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
