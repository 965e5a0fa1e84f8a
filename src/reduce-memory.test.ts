import { describe, expect, it } from 'vitest';
import { reduceMemory } from './reduce-memory.ts';

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
