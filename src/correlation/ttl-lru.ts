// The bounded map under the correlation store: least recently used entries are evicted beyond
// `max`, entries older than `ttl` are stale (dropped when next read, counted until then). It does
// what the store used lru-cache for, with every operation O(1). lru-cache empties the whole
// cache when its last entry is deleted, filling arrays of `max` slots (100,000 by default); the
// store deletes an entry on every match, and in a quiet cluster that entry is usually the only
// one, so each watch event paid ~0.4 ms of event-loop time for that (see docs/benchmarks.md).
// Every operation here is O(1): a Map to find an entry, a doubly linked list for the order of use.

export type DisposeReason = 'evict' | 'expire' | 'delete' | 'set';

export interface TtlLruOptions<V> {
  max: number;
  ttl: number;
  /** Called for every value that leaves, or is replaced by another value under the same key. */
  dispose?: (value: V, key: string, reason: DisposeReason) => void;
}

interface Slot<V> { key: string; value: V; start: number; older: Slot<V> | undefined; newer: Slot<V> | undefined }

export class TtlLru<V> {
  // A Map for lookup and a doubly linked list for the order of use: a Map alone (re-inserting to
  // mark use, its first entry as the LRU) slows to ~80 µs an eviction at 100,000 entries, since
  // iterating from the start walks over every deleted slot before the table is compacted.
  private readonly map = new Map<string, Slot<V>>();
  private oldest: Slot<V> | undefined;
  private newest: Slot<V> | undefined;

  constructor(private readonly o: TtlLruOptions<V>) {}

  /** Entries, stale ones included until they are read or evicted. */
  get size(): number {
    return this.map.size;
  }

  /** The value, made most recently used; a stale one is dropped ('expire'). Its age is not reset. */
  get(key: string): V | undefined {
    const slot = this.map.get(key);
    if (slot === undefined) return undefined;
    if (this.stale(slot, performance.now())) {
      this.remove(slot);
      this.o.dispose?.(slot.value, key, 'expire');
      return undefined;
    }
    this.touch(slot);
    return slot.value;
  }

  /** The value if present and not stale, leaving its place in the order (and a stale one) alone. */
  peek(key: string): V | undefined {
    const slot = this.map.get(key);
    return slot === undefined || this.stale(slot, performance.now()) ? undefined : slot.value;
  }

  /** Stores the value as most recently used, its age reset; the least recently used beyond max is evicted. */
  set(key: string, value: V): void {
    const slot = this.map.get(key);
    if (slot !== undefined) {
      const old = slot.value;
      slot.value = value;
      slot.start = performance.now();
      this.touch(slot);
      if (old !== value) this.o.dispose?.(old, key, 'set');
      return;
    }
    if (this.map.size >= this.o.max && this.oldest !== undefined) {
      const evicted = this.oldest;
      this.remove(evicted);
      this.o.dispose?.(evicted.value, evicted.key, 'evict');
    }
    const added: Slot<V> = { key, value, start: performance.now(), older: this.newest, newer: undefined };
    if (this.newest) this.newest.newer = added;
    else this.oldest = added;
    this.newest = added;
    this.map.set(key, added);
  }

  delete(key: string): boolean {
    const slot = this.map.get(key);
    if (slot === undefined) return false;
    this.remove(slot);
    this.o.dispose?.(slot.value, key, 'delete');
    return true;
  }

  /** Live (not stale) entries, most recently used first. */
  entries(): Array<[string, V]> {
    const now = performance.now();
    const out: Array<[string, V]> = [];
    for (let s = this.newest; s !== undefined; s = s.older) if (!this.stale(s, now)) out.push([s.key, s.value]);
    return out;
  }

  private stale(slot: Slot<V>, now: number): boolean {
    return now - slot.start > this.o.ttl;
  }

  private touch(slot: Slot<V>): void {
    if (slot === this.newest) return;
    this.unlink(slot);
    slot.older = this.newest;
    slot.newer = undefined;
    if (this.newest) this.newest.newer = slot;
    this.newest = slot;
    this.oldest ??= slot;
  }

  private remove(slot: Slot<V>): void {
    this.unlink(slot);
    this.map.delete(slot.key);
  }

  private unlink(slot: Slot<V>): void {
    if (slot.older) slot.older.newer = slot.newer;
    else if (this.oldest === slot) this.oldest = slot.newer;
    if (slot.newer) slot.newer.older = slot.older;
    else if (this.newest === slot) this.newest = slot.older;
    slot.older = undefined;
    slot.newer = undefined;
  }
}
