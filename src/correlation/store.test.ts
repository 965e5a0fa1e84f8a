import { describe, expect, it } from 'vitest';
import { CorrelationStore } from './store.ts';

const alice = { username: 'alice', groups: ['devs'] };
// The content hash of one known entry: pinned, since replicas compare it across processes.
const GOLDEN = '1-78b2915b68f3319c';
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

describe('correlation store content hash', () => {
  it('is equal for equal content whatever the order, and changes with the content', () => {
    const a = new CorrelationStore({ ttlMs: 60_000, maxEntries: 10 });
    const b = new CorrelationStore({ ttlMs: 60_000, maxEntries: 10 });
    a.record('k1', alice);
    a.record('k2', bob);
    b.record('k2', bob);
    b.record('k1', alice);
    expect(a.contentHash()).toBe(b.contentHash());
    const before = a.contentHash();
    a.record('k1', alice); // a duplicate changes nothing
    expect(a.contentHash()).toBe(before);
    a.take('k2');
    expect(a.contentHash()).not.toBe(before);
    b.take('k2');
    expect(a.contentHash()).toBe(b.contentHash());
  });

  it('is the same on every replica (no per-process seed) and has 64 bits', () => {
    const s = new CorrelationStore({ ttlMs: 60_000, maxEntries: 10 });
    expect(s.contentHash()).toBe('0-0000000000000000');
    s.record('UPDATE\u001fapps\u001fdeployments\u001fshop\u001fweb', { username: 'alice', uid: 'u1', groups: ['devs', 'system:authenticated'], fieldManager: 'kubectl-edit' });
    expect(s.contentHash()).toMatch(/^1-[0-9a-f]{16}$/);
    expect(s.contentHash()).toBe(GOLDEN);
  });

  it('changes with every field of the author, and with a shifted field boundary', () => {
    const hashOf = (key: string, a: { username: string; uid?: string; groups: string[]; fieldManager?: string }) => {
      const s = new CorrelationStore({ ttlMs: 60_000, maxEntries: 10 });
      s.record(key, a);
      return s.contentHash();
    };
    const base = { username: 'alice', uid: 'u1', groups: ['devs'], fieldManager: 'kubectl' };
    const variants = [
      hashOf('k', base),
      hashOf('k2', base),
      hashOf('k', { ...base, username: 'alicf' }),
      hashOf('k', { ...base, uid: 'u2' }),
      hashOf('k', { ...base, uid: undefined }),
      hashOf('k', { ...base, groups: ['devs', 'ops'] }),
      hashOf('k', { ...base, groups: ['dev', 's'] }),
      hashOf('k', { ...base, groups: [] }),
      hashOf('k', { ...base, fieldManager: undefined }),
      hashOf('ka', { ...base, username: 'lice' }),
      hashOf('k', { ...base, username: 'aliceu1', uid: '' }),
    ];
    expect(new Set(variants).size).toBe(variants.length);
  });

  it('follows evictions', () => {
    const s = new CorrelationStore({ ttlMs: 60_000, maxEntries: 1 });
    const empty = s.contentHash();
    s.record('k1', alice);
    s.record('k2', bob); // evicts k1
    s.take('k2');
    expect(s.contentHash()).toBe(empty);
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
