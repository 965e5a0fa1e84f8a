import { describe, expect, it } from 'vitest';
import { TtlLru, type DisposeReason } from './ttl-lru.ts';

function lru(max: number, ttl = 60_000) {
  const disposed: Array<[string, string, DisposeReason]> = [];
  const m = new TtlLru<string>({ max, ttl, dispose: (v, k, r) => disposed.push([k, v, r]) });
  return { m, disposed };
}

describe('TtlLru', () => {
  it('evicts the least recently used beyond max; a read counts as use', () => {
    const { m, disposed } = lru(2);
    m.set('a', '1');
    m.set('b', '2');
    expect(m.get('a')).toBe('1');
    m.set('c', '3');
    expect(disposed).toEqual([['b', '2', 'evict']]);
    expect(m.entries()).toEqual([['c', '3'], ['a', '1']]);
    expect(m.size).toBe(2);
  });

  it('reports a replaced value, not the same value set again', () => {
    const { m, disposed } = lru(2);
    m.set('a', '1');
    m.set('a', '1');
    m.set('a', '2');
    expect(disposed).toEqual([['a', '1', 'set']]);
    expect(m.delete('a')).toBe(true);
    expect(m.delete('a')).toBe(false);
    expect(disposed.at(-1)).toEqual(['a', '2', 'delete']);
    expect(m.size).toBe(0);
  });

  it('drops a stale entry when read; setting again resets the age, reading does not', async () => {
    const { m, disposed } = lru(10, 200);
    m.set('a', '1');
    m.set('b', '1');
    await new Promise((r) => setTimeout(r, 120));
    expect(m.get('a')).toBe('1');
    m.set('b', '2');
    await new Promise((r) => setTimeout(r, 120));
    expect(m.entries()).toEqual([['b', '2']]);
    expect(m.size).toBe(2); // stale entries count until read or evicted
    expect(m.get('a')).toBeUndefined();
    expect(disposed.at(-1)).toEqual(['a', '1', 'expire']);
    expect(m.get('b')).toBe('2');
  });

  it('evicts in constant time when full', () => {
    // A Map as the LRU order (its first entry evicted) slowed to ~80 µs an eviction at 100,000.
    const { m } = lru(100_000);
    const t0 = performance.now();
    for (let i = 0; i < 300_000; i++) m.set(`k${i}`, 'v');
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(m.size).toBe(100_000);
    expect(m.get('k199999')).toBeUndefined();
    expect(m.get('k200000')).toBe('v');
  });

  it('deletes the last entry in constant time, whatever max is', () => {
    // lru-cache cleared arrays of `max` slots whenever its last entry was deleted.
    const { m } = lru(1_000_000);
    const t0 = performance.now();
    for (let i = 0; i < 20_000; i++) {
      m.set(`k${i}`, 'v');
      m.delete(`k${i}`);
    }
    expect(performance.now() - t0).toBeLessThan(2_000);
  });
});
