// Secrets watched by name, one per repository that names one (kubescribe needs no right to list
// every Secret): the credentials and the commit signing keys both keep their Secrets this way.
// `sync` starts the watches newly named, and stops those no longer named or renamed.
// A Secret just named is being read for a while (`pending`): nothing is wrong with it yet, so no
// problem is reported and a writer waits for it; one not read within the grace is reported (the
// grace's end calls onChange, so that the state is looked at again) and a writer goes on without.
import type { KubeObject } from '../kube-object.ts';

/** How long a Secret just named may take to be read before it counts as unreadable. */
export const SECRET_READ_GRACE_MS = 10_000;

/** A watched Secret: its current object once listed. */
export interface SecretWatch {
  readonly synced: boolean;
  current(): KubeObject | undefined;
  stop(): Promise<void>;
}

export type WatchSecret = (secret: { namespace: string; name: string }, onChange: () => void) => SecretWatch;

export interface WatchedSecret<S> {
  secret: string;
  watch: SecretWatch;
  state: S;
  /** Set when the grace for its first read has run out (its timer fired). */
  graceOver: boolean;
  graceTimer?: NodeJS.Timeout;
}

export class SecretWatches<S> {
  private readonly entries = new Map<string, WatchedSecret<S>>();
  readonly graceMs: number;

  /** `onChange`: the Secret changed, or it was not read within the grace (then `watch.synced` is false). */
  constructor(private readonly o: { watchSecret: WatchSecret; initial: (secret: string) => S; onChange: (repoKey: string, entry: WatchedSecret<S>) => void; graceMs?: number }) {
    this.graceMs = o.graceMs ?? SECRET_READ_GRACE_MS;
  }

  sync(wanted: ReadonlyMap<string, { namespace: string; name: string }>): void {
    for (const [key, e] of this.entries) {
      const w = wanted.get(key);
      if (!w || `${w.namespace}/${w.name}` !== e.secret) {
        this.drop(e);
        this.entries.delete(key);
      }
    }
    for (const [key, secret] of wanted) {
      if (this.entries.has(key)) continue;
      const name = `${secret.namespace}/${secret.name}`;
      const entry = { secret: name, state: this.o.initial(name), graceOver: false } as WatchedSecret<S>;
      const current = (): boolean => this.entries.get(key) === entry;
      entry.watch = this.o.watchSecret(secret, () => { if (current()) this.o.onChange(key, entry); });
      entry.graceTimer = setTimeout(() => {
        entry.graceOver = true;
        if (current() && !entry.watch.synced) this.o.onChange(key, entry);
      }, this.graceMs).unref();
      this.entries.set(key, entry);
    }
  }

  get(repoKey: string): WatchedSecret<S> | undefined {
    return this.entries.get(repoKey);
  }

  /** Whether the repository's Secret is still within its first read: not to be judged, nor gone without. */
  pending(repoKey: string): boolean {
    const e = this.entries.get(repoKey);
    return e !== undefined && !e.watch.synced && !e.graceOver;
  }

  async stop(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => this.drop(e)));
  }

  private drop(e: WatchedSecret<S>): Promise<void> {
    clearTimeout(e.graceTimer);
    return e.watch.stop();
  }
}

/** A Secret's data value, decoded (undefined when the key is absent). */
export function secretValue(obj: KubeObject | undefined, key: string): string | undefined {
  const data = (obj?.data ?? {}) as Record<string, string>;
  return data[key] === undefined ? undefined : Buffer.from(data[key], 'base64').toString('utf8');
}
