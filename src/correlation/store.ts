// The correlation store: who made which change, kept briefly until the watch event of that change
// arrives. A bounded lru-cache with TTL. Several requests can share a key (a request denied after
// our webhook, one that failed, or both sides of a race); at most one of them was persisted. The
// persisted one is taken to be the LAST recorded: a request that failed or was denied precedes the
// successful retry or the other user's success (see docs/architecture.md). A match consumes the
// whole key, since the old resourceVersion in it can never be left again.
import { LRUCache } from 'lru-cache';

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
  private readonly cache: LRUCache<string, Author[]>;

  constructor(opts: CorrelationStoreOptions) {
    this.cache = new LRUCache<string, Author[]>({
      max: opts.maxEntries,
      ttl: opts.ttlMs,
      ttlAutopurge: false,
      updateAgeOnGet: false,
      dispose: (_v, _k, reason) => {
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
      // Refresh the TTL: the newest request is the one most likely still in flight.
      this.cache.set(key, existing);
      return;
    }
    this.cache.set(key, [author]);
  }

  /** The author of the persisted request for this key, or undefined on a miss. Consumes the key. */
  take(key: string): Author | undefined {
    const entries = this.cache.get(key);
    if (!entries) return undefined;
    this.cache.delete(key);
    return entries[entries.length - 1];
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
