// Commit signing keys of the GitRepoConfigs, from the Secrets their `spec.commit.signing.secretRef`
// names (key `signing.key`, optional `signing.passphrase`), watched by name like the credentials.
// A key is parsed once per change of its Secret (OpenPGP keys decrypt asynchronously), then the
// writers read the result at each commit: a signer, or the reason there is none — in which case
// they commit nothing (fail closed). Key material is never logged.
import { loadSigner, type CommitSigner, type CommitSigning } from '../git/index.ts';
import { SecretWatches, secretValue, type WatchedSecret, type WatchSecret } from './secret-watches.ts';

/** `settled`: the Secret was read and its key loaded (or found wanting), or its read took longer than the grace. */
interface KeyState { signing: CommitSigning; loaded?: string; settled: boolean }

export class SigningKeys {
  private readonly watches: SecretWatches<KeyState>;

  constructor(private readonly o: { watchSecret: WatchSecret; load: (key: string, passphrase?: string) => Promise<CommitSigner>; onChange: () => void; graceMs?: number }) {
    this.watches = new SecretWatches<KeyState>({
      watchSecret: o.watchSecret,
      initial: (secret) => ({ signing: { problem: `the signing Secret ${secret} is being read` }, settled: false }),
      onChange: (key, entry) => {
        if (entry.watch.synced) return void this.reload(key, entry);
        // Not read within the grace: say so; writers refuse to commit until it is (never unsigned).
        entry.state.signing = { problem: `could not read the signing Secret ${entry.secret} within ${this.watches.graceMs / 1000} s; still trying` };
        entry.state.settled = true;
        o.onChange();
      },
      ...(o.graceMs !== undefined ? { graceMs: o.graceMs } : {}),
    });
  }

  /** Whether the repository's signing key is still being read for the first time (nothing to report yet; writers wait). */
  pending(repoKey: string): boolean {
    const e = this.watches.get(repoKey);
    return e !== undefined && !e.state.settled;
  }

  /** Watches the signing Secret of each repository that names one; stops the others. */
  sync(repos: Iterable<{ key: string; signingSecret?: { namespace: string; name: string } }>): void {
    this.watches.sync(new Map([...repos].flatMap((r) => (r.signingSecret ? [[r.key, r.signingSecret] as const] : []))));
  }

  /** What a writer of this repository does now: sign, refuse, or (no signing asked) undefined. */
  signing(repoKey: string): CommitSigning {
    return this.watches.get(repoKey)?.state.signing;
  }

  stop(): Promise<void> {
    return this.watches.stop();
  }

  private async reload(key: string, entry: WatchedSecret<KeyState>): Promise<void> {
    const obj = entry.watch.current();
    const [keyText, passphrase] = [secretValue(obj, 'signing.key'), secretValue(obj, 'signing.passphrase')];
    const fingerprint = JSON.stringify([obj !== undefined, keyText ?? null, passphrase ?? null]);
    if (entry.state.loaded === fingerprint) return; // unchanged (a resync or a label edit)
    entry.state.loaded = fingerprint;
    let signing: CommitSigning;
    if (!obj) signing = { problem: `the signing Secret ${entry.secret} does not exist` };
    else if (keyText === undefined) signing = { problem: `the signing Secret ${entry.secret} has no signing.key` };
    else {
      try {
        signing = { signer: await this.o.load(keyText, passphrase) };
      } catch (err) {
        signing = { problem: `the signing Secret ${entry.secret}: ${(err as Error).message}` };
      }
    }
    if (entry.state.loaded !== fingerprint) return; // a newer version of the Secret is being loaded
    entry.state.signing = signing;
    entry.state.settled = true;
    if (this.watches.get(key) === entry) this.o.onChange();
  }
}

/** The settings file's signing key as the writers see it: a signer, the reason there is none, or off. */
export async function settingsSigning(key: { key: string; passphrase?: string } | undefined): Promise<CommitSigning> {
  if (!key) return undefined;
  try {
    return { signer: await loadSigner(key.key, key.passphrase) };
  } catch (err) {
    return { problem: `git.signing.keyFile: ${(err as Error).message}` };
  }
}
