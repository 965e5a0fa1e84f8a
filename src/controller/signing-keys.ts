// Commit signing keys of the GitRepoConfigs, from the Secrets their `spec.commit.signing.secretRef`
// names (key `signing.key`, optional `signing.passphrase`), watched by name like the credentials.
// A key is parsed once per change of its Secret (OpenPGP keys decrypt asynchronously), then the
// writers read the result at each commit: a signer, or the reason there is none — in which case
// they commit nothing (fail closed). Key material is never logged.
import type { CommitSigner, CommitSigning } from '../git/index.ts';
import type { SecretWatch, WatchSecret } from './credentials.ts';

interface Entry { secret: string; watch: SecretWatch; state: CommitSigning; loaded?: string }

export class SigningKeys {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly o: { watchSecret: WatchSecret; load: (key: string, passphrase?: string) => Promise<CommitSigner>; onChange: () => void }) {}

  /** Watches the signing Secret of each repository that names one; stops the others. */
  sync(repos: Iterable<{ key: string; signingSecret?: { namespace: string; name: string } }>): void {
    const wanted = new Map<string, { namespace: string; name: string }>();
    for (const r of repos) if (r.signingSecret) wanted.set(r.key, r.signingSecret);
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
      const entry: Entry = { secret: name, state: { problem: `the signing Secret ${name} is being read` }, watch: undefined as unknown as SecretWatch };
      entry.watch = this.o.watchSecret(secret, () => void this.reload(key, entry));
      this.entries.set(key, entry);
    }
  }

  /** What a writer of this repository does now: sign, refuse, or (no signing asked) undefined. */
  signing(repoKey: string): CommitSigning {
    return this.entries.get(repoKey)?.state;
  }

  async stop(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.watch.stop()));
  }

  private async reload(key: string, entry: Entry): Promise<void> {
    const data = (entry.watch.current()?.data ?? undefined) as Record<string, string> | undefined;
    const fingerprint = JSON.stringify([data?.['signing.key'] ?? null, data?.['signing.passphrase'] ?? null]);
    if (entry.loaded === fingerprint) return; // unchanged (a resync or a label edit)
    entry.loaded = fingerprint;
    const get = (k: string): string | undefined => (data?.[k] === undefined ? undefined : Buffer.from(data[k], 'base64').toString('utf8'));
    if (!entry.watch.current()) entry.state = { problem: `the signing Secret ${entry.secret} does not exist` };
    else if (get('signing.key') === undefined) entry.state = { problem: `the signing Secret ${entry.secret} has no signing.key` };
    else {
      try {
        entry.state = { signer: await this.o.load(get('signing.key')!, get('signing.passphrase')) };
      } catch (err) {
        entry.state = { problem: `the signing Secret ${entry.secret}: ${(err as Error).message}` };
      }
    }
    if (this.entries.get(key) === entry) this.o.onChange();
  }
}
