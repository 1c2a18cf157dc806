import { afterEach, describe, expect, it, vi } from 'vitest';
import { WakeScheduler } from './scheduler.js';

describe('WakeScheduler', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('wakes each deployment at its latest deadline, in order, and never one that was cleared', () => {
    vi.useFakeTimers({ now: 0 });
    const woken: string[] = [];
    const s = new WakeScheduler(
      (id) => woken.push(id),
      () => Date.now(),
    );
    s.set('a', 300);
    s.set('b', 100);
    s.set('c', 200);
    s.set('b', 400); // moved later
    s.set('c', undefined); // cleared
    s.set('d', 50);
    vi.advanceTimersByTime(60);
    expect(woken).toEqual(['d']);
    vi.advanceTimersByTime(250);
    expect(woken).toEqual(['d', 'a']);
    vi.advanceTimersByTime(100);
    expect(woken).toEqual(['d', 'a', 'b']);
    vi.advanceTimersByTime(10_000);
    expect(woken).toEqual(['d', 'a', 'b']);
    s.close();
  });

  it('keeps many deadlines that move often right (the heap is rebuilt from the live ones)', () => {
    vi.useFakeTimers({ now: 0 });
    const woken: string[] = [];
    const s = new WakeScheduler(
      (id) => woken.push(id),
      () => Date.now(),
    );
    const n = 3_000;
    for (let round = 0; round < 5; round++)
      for (let i = 0; i < n; i++) s.set(`d${i}`, 1_000 + ((i * 7919 + round) % n));
    for (let i = 0; i < n; i += 2) s.set(`d${i}`, undefined);
    vi.advanceTimersByTime(1_000 + n);
    const expected = Array.from({ length: n }, (_, i) => i)
      .filter((i) => i % 2 === 1)
      .sort((x, y) => ((x * 7919 + 4) % n) - ((y * 7919 + 4) % n) || 0);
    expect(woken.length).toBe(expected.length);
    const at = (id: string) => 1_000 + ((Number(id.slice(1)) * 7919 + 4) % n);
    for (let i = 1; i < woken.length; i++) expect(at(woken[i]!)).toBeGreaterThanOrEqual(at(woken[i - 1]!));
    expect(new Set(woken)).toEqual(new Set(expected.map((i) => `d${i}`)));
    s.close();
  });

  it('a wake-up may set a new deadline for the same deployment', () => {
    vi.useFakeTimers({ now: 0 });
    let count = 0;
    const s: WakeScheduler = new WakeScheduler(
      (id) => {
        count++;
        if (count < 3) s.set(id, Date.now() + 10);
      },
      () => Date.now(),
    );
    s.set('x', 10);
    vi.advanceTimersByTime(100);
    expect(count).toBe(3);
    s.close();
  });
});
