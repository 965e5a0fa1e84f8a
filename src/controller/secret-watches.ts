// Secrets watched by name, one per repository that names one (kubescribe needs no right to list
// every Secret): the credentials and the commit signing keys both keep their Secrets this way.
// `sync` starts the watches newly named, and stops those no longer named or renamed.
import type { KubeObject } from '../kube-object.ts';

/** A watched Secret: its current object once listed. */
export interface SecretWatch {
  readonly synced: boolean;
  current(): KubeObject | undefined;
  stop(): Promise<void>;
}

export type WatchSecret = (secret: { namespace: string; name: string }, onChange: () => void) => SecretWatch;

export interface WatchedSecret<S> { secret: string; watch: SecretWatch; state: S }

export class SecretWatches<S> {
  private readonly entries = new Map<string, WatchedSecret<S>>();

  constructor(private readonly o: { watchSecret: WatchSecret; initial: (secret: string) => S; onChange: (repoKey: string, entry: WatchedSecret<S>) => void }) {}

  sync(wanted: ReadonlyMap<string, { namespace: string; name: string }>): void {
    for (const [key, e] of this.entries) {
      const w = wanted.get(key);
      if (!w || `${w.namespace}/${w.name}` !== e.secret) {
        void e.watch.stop();
        this.entries.delete(key);
      }
    }
    for (const [key, secret] of wanted) {
      if (this.entries.has(key)) continue;
      const name = `${secret.namespace}/${secret.name}`;
      const entry = { secret: name, state: this.o.initial(name) } as WatchedSecret<S>;
      entry.watch = this.o.watchSecret(secret, () => { if (this.entries.get(key) === entry) this.o.onChange(key, entry); });
      this.entries.set(key, entry);
    }
  }

  get(repoKey: string): WatchedSecret<S> | undefined {
    return this.entries.get(repoKey);
  }

  async stop(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.watch.stop()));
  }
}

/** A Secret's data value, decoded (undefined when the key is absent). */
export function secretValue(obj: KubeObject | undefined, key: string): string | undefined {
  const data = (obj?.data ?? {}) as Record<string, string>;
  return data[key] === undefined ? undefined : Buffer.from(data[key], 'base64').toString('utf8');
}
