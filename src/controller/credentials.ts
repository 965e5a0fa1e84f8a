// Git credentials of the GitRepoConfigs, read from the Secrets their `secretRef` names. One watch
// per referenced Secret (by name: kubescribe needs no right to list every Secret); a change of one
// requests a reconcile, and the writer reads the credentials through `get` at its next push, so a
// fixed Secret takes effect without reopening anything. A writer opens once its Secret is read
// (`pending`), not before: without credentials its first attempt would fail. Values are never logged.
import type { Credentials } from '../git/index.ts';
import type { KubeObject } from '../kube-object.ts';
import { SecretWatches, secretValue, type WatchSecret } from './secret-watches.ts';


export interface CredentialsProblem { reason: 'SecretNotFound' | 'SecretInvalid'; message: string }

export class CredentialsSource {
  private readonly watches: SecretWatches<undefined>;

  constructor(o: { watchSecret: WatchSecret; onChange: () => void; graceMs?: number }) {
    this.watches = new SecretWatches({ watchSecret: o.watchSecret, initial: () => undefined, onChange: () => o.onChange(), ...(o.graceMs !== undefined ? { graceMs: o.graceMs } : {}) });
  }

  /** Watches the Secret of each repository that names one; stops the watches no longer needed. */
  sync(repos: Iterable<{ key: string; secret?: { namespace: string; name: string } }>): void {
    this.watches.sync(new Map([...repos].flatMap((r) => (r.secret ? [[r.key, r.secret] as const] : []))));
  }

  get(repoKey: string): Credentials | undefined {
    const r = this.read(repoKey);
    return r && 'creds' in r ? r.creds : undefined;
  }

  /** Whether the repository's Secret is still being read for the first time (a writer waits for it). */
  pending(repoKey: string): boolean {
    return this.watches.pending(repoKey);
  }

  /** Why a repository that names a Secret has no credentials (undefined: it has them, names none, or it is still being read). */
  problem(repoKey: string): CredentialsProblem | undefined {
    const e = this.watches.get(repoKey);
    if (!e || this.watches.pending(repoKey)) return undefined;
    if (!e.watch.synced) return { reason: 'SecretNotFound', message: `could not read the Secret ${e.secret} within ${this.watches.graceMs / 1000} s (may kubescribe read Secrets in its namespace? the chart's rbac.gitCredentialNamespaces); still trying` };
    const r = this.read(repoKey);
    return r && 'problem' in r ? r.problem : undefined;
  }

  stop(): Promise<void> {
    return this.watches.stop();
  }

  private read(repoKey: string): { creds: Credentials } | { problem: CredentialsProblem } | undefined {
    const e = this.watches.get(repoKey);
    if (!e || !e.watch.synced) return undefined;
    return parseGitSecret(e.secret, e.watch.current());
  }
}

/**
 * The Git credentials in a Secret. SSH: Flux's layout (identity, identity.pub, known_hosts,
 * password = passphrase) or Argo CD's (sshPrivateKey; known_hosts in the same Secret, since
 * kubescribe has no known-hosts ConfigMap). HTTPS: token (username optional) or username/password.
 */
export function parseGitSecret(name: string, obj: KubeObject | undefined): { creds: Credentials } | { problem: CredentialsProblem } {
  if (!obj) return { problem: { reason: 'SecretNotFound', message: `Secret ${name} does not exist` } };
  const get = (k: string): string | undefined => secretValue(obj, k);
  const sshKey = get('identity') ?? get('sshPrivateKey');
  if (sshKey !== undefined) return { creds: { username: '', password: '', ssh: { privateKey: sshKey, passphrase: get('password'), knownHosts: get('known_hosts') ?? '' } } };
  if (get('token') !== undefined) return { creds: { username: get('username') ?? 'x-access-token', password: get('token') ?? '' } };
  if (get('password') !== undefined) return { creds: { username: get('username') ?? '', password: get('password') ?? '' } };
  return { problem: { reason: 'SecretInvalid', message: `Secret ${name} has none of the keys password, token, identity (SSH) or sshPrivateKey (SSH)` } };
}
