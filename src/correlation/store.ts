// The correlation store: who made which change, kept briefly until the watch event of that change
// arrives. A bounded LRU map with TTL (ttl-lru.ts). Several requests can share a key (a request
// denied after our webhook, one that failed, an apiserver retry, both sides of a race, or a review
// POSTed by someone who can reach the webhook); at most one of them was persisted, and the order in
// which they were recorded says nothing about which (with replicas it is not even the admission
// order). So a match hands back every distinct request under the key — the candidates — and
// resolve-author.ts decides: one identity, or the one the persisted object names, or none (the
// commit then says `unknown` and lists the candidates). A match consumes the whole key, since the
// old resourceVersion in it can never be left again.
import { isCauseKey } from './cause.ts';
import { ChangeLog, type ChangesChunk } from './change-log.ts';
import { TtlLru } from './ttl-lru.ts';

export interface Author {
  username: string;
  uid?: string;
  groups: string[];
  /** The request's field manager (options.fieldManager), for rules that exclude GitOps controllers. */
  fieldManager?: string;
  /** For a cause entry (cause.ts): what this user deleted, e.g. `namespace shop`. */
  deleted?: string;
}

export interface CorrelationStoreOptions {
  ttlMs: number;
  maxEntries: number;
  onEvict?: (reason: 'expire' | 'evict') => void;
}

export class CorrelationStore {
  private readonly cache: TtlLru<Author[]>;
  private readonly waiters = new Map<string, Set<() => void>>();
  /** What changed when, for peers' incremental pulls (change-log.ts). */
  private readonly changes = new ChangeLog();

  constructor(opts: CorrelationStoreOptions) {
    this.cache = new TtlLru<Author[]>({
      max: opts.maxEntries,
      ttl: opts.ttlMs,
      dispose: (value, key, reason) => {
        if (reason === 'set') return; // the same array is set again after a push
        this.changes.removed(key);
        // A cause is never consumed: its expiry is its normal end, not a correlation missed.
        if (reason === 'evict' || (reason === 'expire' && !isCauseKey(key))) opts.onEvict?.(reason);
      },
    });
  }

  /** When the last record() came (performance.now() ms): reviews or peers' pushes are arriving. */
  lastRecordAt: number | undefined;

  record(key: string, author: Author): void {
    this.lastRecordAt = performance.now();
    const existing = this.cache.get(key);
    if (existing) {
      // The same request again (a peer's push, a pull that re-sends the whole list, an apiserver
      // retry) adds nothing: only distinct requests are candidates.
      if (existing.some((e) => sameAuthor(e, author))) return;
      existing.push(author);
      this.changes.changed(key);
      // Refresh the TTL: the newest request is the one most likely still in flight.
      this.cache.set(key, existing);
      return;
    }
    this.cache.set(key, [author]);
    this.changes.changed(key);
    const w = this.waiters.get(key);
    if (w) for (const wake of w) wake();
  }

  /**
   * Takes the first of these keys that is recorded within `ms` (now or later, e.g. pushed by the
   * replica whose webhook was called, which may arrive after the watch event): the wait for a
   * correlation that is still on its way.
   */
  async waitFor(keys: readonly string[], ms: number, opts: { consume?: boolean } = {}): Promise<Author[] | undefined> {
    const consume = opts.consume ?? true;
    const take = (): Author[] | undefined => {
      for (const k of keys) {
        const a = consume ? this.take(k) : this.cache.get(k);
        if (a) return a;
      }
      return undefined;
    };
    const now = take();
    if (now || ms <= 0) return now;
    return await new Promise<Author[] | undefined>((resolve) => {
      const wake = (): void => {
        const a = take();
        if (a) done(a);
      };
      const timer = setTimeout(() => done(take()), ms);
      const done = (a: Author[] | undefined): void => {
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

  /** Every distinct request recorded under this key (oldest first), or undefined on a miss. Consumes the key. */
  take(key: string): Author[] | undefined {
    const entries = this.cache.get(key);
    if (!entries) return undefined;
    this.cache.delete(key);
    return entries;
  }

  /** Every entry under this key without consuming it: for causes, which many deletions share. */
  peek(key: string): Author[] | undefined {
    return this.cache.get(key);
  }

  /**
   * Every distinct request under the keys that start with `prefix` (see correlationKeyPrefix),
   * consuming them. A scan of the store: only for the rare event no exact key can match.
   */
  takeStartingWith(prefix: string): Author[] | undefined {
    return this.startingWith(prefix, (k) => this.take(k));
  }

  /** The distinct authors under every key starting with `prefix`, each key read by `read`. */
  private startingWith(prefix: string, read: (key: string) => Author[] | undefined): Author[] | undefined {
    // The keys first: `read` may remove entries (take).
    const keys = [...this.cache.entries()].map(([k]) => k).filter((k) => k.startsWith(prefix));
    const out: Author[] = [];
    for (const k of keys) for (const a of read(k) ?? []) if (!out.some((o) => sameAuthor(o, a))) out.push(a);
    return out.length > 0 ? out : undefined;
  }

  /**
   * A view that reads without consuming (take = peek), for a replica that writes some
   * destinations of several (leaderElection.perDestination): one watch per destination and type
   * runs in the process, and a change routed to two of them is looked up twice. No more memory than
   * a standby keeps today: every replica receives every correlation, and the TTL ends them.
   */
  reader(): { take(key: string): Author[] | undefined; takeStartingWith(prefix: string): Author[] | undefined; peek(key: string): Author[] | undefined; record(key: string, author: Author): void } {
    return {
      take: (key) => this.cache.get(key),
      takeStartingWith: (prefix) => this.startingWith(prefix, (k) => this.cache.get(k)),
      peek: (key) => this.cache.get(key),
      record: (key, author) => this.record(key, author),
    };
  }

  get size(): number {
    return this.cache.size;
  }

  /**
   * For peers' pulls: at most `limit` keys whose entries changed after the cursor (epoch, after),
   * oldest change first, each with every live entry under it. Reads do not refresh the LRU order.
   */
  changesSince(epoch: string | undefined, after: number, limit: number): ChangesChunk<Author[]> {
    return this.changes.since(epoch, after, limit, (key) => this.cache.peek(key));
  }

  /** Whether anything was recorded after this cursor (false: a pull would bring nothing). */
  changedSince(epoch: string | undefined, after: number): boolean {
    return epoch !== this.changes.epoch || after < this.changes.current;
  }

  /** For diagnostics: every live key with its entries. */
  entries(): Array<[string, Author[]]> {
    return [...this.cache.entries()];
  }
}

function sameAuthor(a: Author, b: Author): boolean {
  return a.username === b.username && a.uid === b.uid && a.fieldManager === b.fieldManager && a.groups.join('\n') === b.groups.join('\n');
}
