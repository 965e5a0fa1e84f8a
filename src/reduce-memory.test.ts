import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryRelease, reduceMemory } from './reduce-memory.ts';

describe('reduceMemory', () => {
  it('collects dropped objects and gives the heap back', async () => {
    let garbage: unknown[] | undefined = Array.from({ length: 300_000 }, (_, i) => ({ name: `object-${i}`, data: { i: String(i) } }));
    const before = process.memoryUsage();
    garbage = undefined;
    await Promise.all([reduceMemory(), reduceMemory()]); // concurrent calls share one GC
    const after = process.memoryUsage();
    expect(garbage).toBeUndefined();
    expect(before.heapUsed - after.heapUsed).toBeGreaterThan(20 * 1024 * 1024);
    expect(after.heapTotal).toBeLessThan(before.heapTotal);
  });
});

describe('MemoryRelease', () => {
  /** A clock and timers the test moves; `last` is when something was last recorded. */
  function setup(o: { last?: number; maxWaitMs?: number } = {}) {
    vi.useFakeTimers();
    const clock = { now: 0, last: o.last as number | undefined };
    const runs: number[] = [];
    const skipped: string[] = [];
    const release = new MemoryRelease({
      lastActivity: () => clock.last, now: () => clock.now, quietMs: 2000, retryMs: 500, maxWaitMs: o.maxWaitMs ?? 10_000,
      gc: async () => { runs.push(clock.now); }, skipped: (r) => skipped.push(r),
    });
    const advance = async (ms: number): Promise<void> => {
      for (let t = 0; t < ms; t += 100) { clock.now += 100; await vi.advanceTimersByTimeAsync(100); }
    };
    return { clock, runs, skipped, release, advance };
  }
  afterEach(() => vi.useRealTimers());

  it('runs at once in a quiet process (nothing recorded yet, or long ago)', async () => {
    for (const last of [undefined, -5000]) {
      const { runs, release } = setup({ last });
      release.request();
      await vi.advanceTimersByTimeAsync(0);
      expect(runs).toEqual([0]);
    }
  });

  it('waits while reviews arrive and runs at the first moment quiet for quietMs', async () => {
    const { clock, runs, release, advance } = setup({ last: 0 });
    release.request();
    release.request(); // one pending request at most
    for (let i = 0; i < 30; i++) { clock.last = clock.now; await advance(100); } // 3 s of traffic
    expect(runs).toEqual([]);
    await advance(3000);
    expect(runs).toHaveLength(1);
    expect(runs[0]! - clock.last!).toBeGreaterThanOrEqual(2000);
  });

  it('gives up after maxWaitMs of steady traffic, and stop() cancels a pending request', async () => {
    const a = setup({ last: 0, maxWaitMs: 5000 });
    a.release.request();
    for (let i = 0; i < 80; i++) { a.clock.last = a.clock.now; await a.advance(100); }
    expect(a.runs).toEqual([]);
    expect(a.skipped).toEqual(['busy']);
    vi.useRealTimers();
    const b = setup({ last: 0 });
    b.release.request();
    b.release.stop();
    await b.advance(5000);
    expect(b.runs).toEqual([]);
  });
});
