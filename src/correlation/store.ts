// The correlation store: who made which change, kept briefly until the watch event of that change
// arrives. A bounded LRU map with TTL (ttl-lru.ts). Several requests can share a key (a request
// denied after our webhook, one that failed, or both sides of a race); at most one of them was persisted. The
// persisted one is taken to be the LAST recorded: a request that failed or was denied precedes the
// successful retry or the other user's success (see docs/architecture.md). A match consumes the
// whole key, since the old resourceVersion in it can never be left again.
import { createHash } from 'node:crypto';
import { TtlLru } from './ttl-lru.ts';

export interface Author {
  username: string;
  uid?: string;
  groups: string[];
  /** The request's field manager (options.fieldManager), for rules that exclude GitOps controllers. */
  fieldManager?: string;
}

export interface CorrelationStoreOptions {
  ttlMs: number;
  maxEntries: number;
  onEvict?: (reason: 'expire' | 'evict') => void;
}

export class CorrelationStore {
  private readonly cache: TtlLru<Author[]>;
  /**
   * The content hash: XOR of a digest of every (key, author) entry, kept up to date on every
   * change, so peers can ask "changed since <hash>?" without the store being serialized.
   */
  private readonly digest = Buffer.alloc(20);
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(opts: CorrelationStoreOptions) {
    this.cache = new TtlLru<Author[]>({
      max: opts.maxEntries,
      ttl: opts.ttlMs,
      dispose: (value, key, reason) => {
        if (reason === 'set') return; // the same array is set again after a push
        for (const a of value) this.toggle(key, a);
        if (reason === 'expire' || reason === 'evict') opts.onEvict?.(reason);
      },
    });
  }

  record(key: string, author: Author): void {
    const existing = this.cache.get(key);
    if (existing) {
      // Re-recording the same request (a peer notified twice, or an apiserver retry) is harmless.
      const last = existing[existing.length - 1];
      if (last && sameAuthor(last, author)) return;
      existing.push(author);
      this.toggle(key, author);
      // Refresh the TTL: the newest request is the one most likely still in flight.
      this.cache.set(key, existing);
      return;
    }
    this.toggle(key, author);
    this.cache.set(key, [author]);
    const w = this.waiters.get(key);
    if (w) for (const wake of w) wake();
  }

  /**
   * Takes the first of these keys that is recorded within `ms` (now or later, e.g. pushed by the
   * replica whose webhook was called, which may arrive after the watch event): the wait for a
   * correlation that is still on its way.
   */
  async waitFor(keys: readonly string[], ms: number): Promise<Author | undefined> {
    const take = (): Author | undefined => {
      for (const k of keys) {
        const a = this.take(k);
        if (a) return a;
      }
      return undefined;
    };
    const now = take();
    if (now || ms <= 0) return now;
    return await new Promise<Author | undefined>((resolve) => {
      const wake = (): void => {
        const a = take();
        if (a) done(a);
      };
      const timer = setTimeout(() => done(take()), ms);
      const done = (a: Author | undefined): void => {
        clearTimeout(timer);
        for (const k of keys) {
          const set = this.waiters.get(k);
          set?.delete(wake);
          if (set?.size === 0) this.waiters.delete(k);
        }
        resolve(a);
      };
      for (const k of keys) {
        const set = this.waiters.get(k) ?? new Set<() => void>();
        set.add(wake);
        this.waiters.set(k, set);
      }
    });
  }

  /** The author of the persisted request for this key, or undefined on a miss. Consumes the key. */
  take(key: string): Author | undefined {
    const entries = this.cache.get(key);
    if (!entries) return undefined;
    this.cache.delete(key);
    return entries[entries.length - 1];
  }

  /** Changes whenever the content changes; equal for stores with equal content. */
  contentHash(): string {
    return `${this.cache.size}-${this.digest.toString('hex')}`;
  }

  private toggle(key: string, a: Author): void {
    const d = createHash('sha1').update(key).update('\0').update(JSON.stringify([a.username, a.uid ?? '', a.groups, a.fieldManager ?? ''])).digest();
    for (let i = 0; i < 20; i++) this.digest[i]! ^= d[i]!;
  }

  get size(): number {
    return this.cache.size;
  }

  /** For peers and diagnostics: every live key with its entries. */
  entries(): Array<[string, Author[]]> {
    return [...this.cache.entries()];
  }
}

function sameAuthor(a: Author, b: Author): boolean {
  return a.username === b.username && a.uid === b.uid && a.fieldManager === b.fieldManager && a.groups.join('\n') === b.groups.join('\n');
}
