import { describe, expect, it } from 'vitest';
import { CorrelationStore } from './store.ts';

const alice = { username: 'alice', groups: ['devs'] };
const bob = { username: 'bob', groups: ['devs'] };

describe('correlation store', () => {
  it('returns every distinct request recorded under a key, not a guess at the last one, and consumes the key', () => {
    const s = new CorrelationStore({ ttlMs: 60_000, maxEntries: 10 });
    s.record('k', alice); // e.g. denied by a later admission plugin, or the other side of a race
    s.record('k', bob);
    s.record('k', { ...alice }); // a peer's push or a pull re-sending the list: not a third request
    expect(s.take('k')).toEqual([alice, bob]);
    expect(s.take('k')).toBeUndefined();
  });

  it('gives a miss, never a guess, for an unknown key', () => {
    const s = new CorrelationStore({ ttlMs: 60_000, maxEntries: 10 });
    s.record('a', alice);
    expect(s.take('b')).toBeUndefined();
  });

  it('treats recording the same request twice as once', () => {
    const s = new CorrelationStore({ ttlMs: 60_000, maxEntries: 10 });
    s.record('k', alice);
    s.record('k', { ...alice });
    expect(s.entries()).toEqual([['k', [alice]]]);
  });

  it('stays within its size bound and reports evictions', () => {
    const evictions: string[] = [];
    const s = new CorrelationStore({ ttlMs: 60_000, maxEntries: 100, onEvict: (r) => evictions.push(r) });
    for (let i = 0; i < 1000; i++) s.record(`k${i}`, alice);
    expect(s.size).toBe(100);
    expect(evictions).toHaveLength(900);
    expect(s.take('k999')).toEqual([alice]);
    expect(s.take('k0')).toBeUndefined();
  });

  it('forgets entries after the TTL', async () => {
    const s = new CorrelationStore({ ttlMs: 30, maxEntries: 10 });
    s.record('k', alice);
    await new Promise((r) => setTimeout(r, 60));
    expect(s.take('k')).toBeUndefined();
  });
});

describe('waiting for a correlation on its way', () => {
  it('resolves as soon as one of the keys is recorded, or undefined at the deadline', async () => {
    const s = new CorrelationStore({ ttlMs: 60_000, maxEntries: 10 });
    const started = Date.now();
    const pending = s.waitFor(['a', 'b'], 1000);
    setTimeout(() => s.record('b', bob), 20);
    expect(await pending).toEqual([bob]);
    expect(Date.now() - started).toBeLessThan(500);
    expect(s.size).toBe(0); // taken
    expect(await s.waitFor(['c'], 30)).toBeUndefined();
    s.record('c', alice);
    expect(await s.waitFor(['c'], 0)).toEqual([alice]); // already there: no wait
  });
});
