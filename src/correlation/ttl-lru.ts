// The bounded map under the correlation store: least recently used entries are evicted beyond
// `max`, entries older than `ttl` are stale (dropped when next read, counted until then). It does
// what the store used lru-cache for, with every operation O(1). lru-cache empties the whole
// cache when its last entry is deleted, filling arrays of `max` slots (100,000 by default); the
// store deletes an entry on every match, and in a quiet cluster that entry is usually the only
// one, so each watch event paid ~0.4 ms of event-loop time for that (see docs/benchmarks.md).
// A Map keeps insertion order: an entry is moved to the end when used, so the first is the LRU.

export type DisposeReason = 'evict' | 'expire' | 'delete' | 'set';

export interface TtlLruOptions<V> {
  max: number;
  ttl: number;
  /** Called for every value that leaves, or is replaced by another value under the same key. */
  dispose?: (value: V, key: string, reason: DisposeReason) => void;
}

interface Slot<V> { value: V; start: number }

export class TtlLru<V> {
  private readonly map = new Map<string, Slot<V>>();

  constructor(private readonly o: TtlLruOptions<V>) {}

  /** Entries, stale ones included until they are read or evicted. */
  get size(): number {
    return this.map.size;
  }

  /** The value, made most recently used; a stale one is dropped ('expire'). Its age is not reset. */
  get(key: string): V | undefined {
    const slot = this.map.get(key);
    if (slot === undefined) return undefined;
    this.map.delete(key);
    if (this.stale(slot, performance.now())) {
      this.o.dispose?.(slot.value, key, 'expire');
      return undefined;
    }
    this.map.set(key, slot);
    return slot.value;
  }

  /** Stores the value as most recently used, its age reset; the least recently used beyond max is evicted. */
  set(key: string, value: V): void {
    const slot = this.map.get(key);
    if (slot !== undefined) {
      this.map.delete(key);
      if (slot.value !== value) this.o.dispose?.(slot.value, key, 'set');
    } else if (this.map.size >= this.o.max) {
      const [oldest, evicted] = this.map.entries().next().value as [string, Slot<V>];
      this.map.delete(oldest);
      this.o.dispose?.(evicted.value, oldest, 'evict');
    }
    this.map.set(key, { value, start: performance.now() });
  }

  delete(key: string): boolean {
    const slot = this.map.get(key);
    if (slot === undefined) return false;
    this.map.delete(key);
    this.o.dispose?.(slot.value, key, 'delete');
    return true;
  }

  /** Live (not stale) entries, most recently used first. */
  entries(): Array<[string, V]> {
    const now = performance.now();
    const out: Array<[string, V]> = [];
    for (const [key, slot] of this.map) if (!this.stale(slot, now)) out.push([key, slot.value]);
    return out.reverse();
  }

  private stale(slot: Slot<V>, now: number): boolean {
    return now - slot.start > this.o.ttl;
  }
}
