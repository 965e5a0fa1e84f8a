// Git credentials of the GitRepoConfigs, read from the Secrets their `secretRef` names. One watch
// per referenced Secret (by name: kubescribe needs no right to list every Secret); a change of one
// requests a reconcile, and the writer reads the credentials through `get` at its next push, so a
// fixed Secret takes effect without reopening anything. Values are never logged.
import type { Credentials } from '../git/index.ts';
import type { KubeObject } from '../kube-object.ts';

export interface CredentialsProblem { reason: 'SecretNotFound' | 'SecretInvalid'; message: string }

/** A watched Secret: its current object once listed. */
export interface SecretWatch {
  readonly synced: boolean;
  current(): KubeObject | undefined;
  stop(): Promise<void>;
}

export type WatchSecret = (secret: { namespace: string; name: string }, onChange: () => void) => SecretWatch;

interface Entry { secret: string; watch: SecretWatch }

export class CredentialsSource {
  private readonly watches = new Map<string, Entry>();

  constructor(private readonly o: { watchSecret: WatchSecret; onChange: () => void }) {}

  /** Watches the Secret of each repository that names one; stops the watches no longer needed. */
  sync(repos: Iterable<{ key: string; secret?: { namespace: string; name: string } }>): void {
    const wanted = new Map<string, { namespace: string; name: string }>();
    for (const r of repos) if (r.secret) wanted.set(r.key, r.secret);
    for (const [key, e] of this.watches) {
      const w = wanted.get(key);
      if (!w || `${w.namespace}/${w.name}` !== e.secret) {
        void e.watch.stop();
        this.watches.delete(key);
      }
    }
    for (const [key, secret] of wanted) {
      if (this.watches.has(key)) continue;
      this.watches.set(key, { secret: `${secret.namespace}/${secret.name}`, watch: this.o.watchSecret(secret, this.o.onChange) });
    }
  }

  get(repoKey: string): Credentials | undefined {
    const r = this.read(repoKey);
    return r && 'creds' in r ? r.creds : undefined;
  }

  /** Why a repository that names a Secret has no credentials (undefined: it has them, or names none). */
  problem(repoKey: string): CredentialsProblem | undefined {
    const e = this.watches.get(repoKey);
    if (!e) return undefined;
    if (!e.watch.synced) return { reason: 'SecretNotFound', message: `reading the Secret ${e.secret}` };
    const r = this.read(repoKey);
    return r && 'problem' in r ? r.problem : undefined;
  }

  async stop(): Promise<void> {
    const all = [...this.watches.values()];
    this.watches.clear();
    await Promise.all(all.map((e) => e.watch.stop()));
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
  const data = (obj.data ?? {}) as Record<string, string>;
  const get = (k: string): string | undefined => (data[k] === undefined ? undefined : Buffer.from(data[k], 'base64').toString('utf8'));
  const sshKey = get('identity') ?? get('sshPrivateKey');
  if (sshKey !== undefined) return { creds: { username: '', password: '', ssh: { privateKey: sshKey, passphrase: get('password'), knownHosts: get('known_hosts') ?? '' } } };
  if (get('token') !== undefined) return { creds: { username: get('username') ?? 'x-access-token', password: get('token') ?? '' } };
  if (get('password') !== undefined) return { creds: { username: get('username') ?? '', password: get('password') ?? '' } };
  return { problem: { reason: 'SecretInvalid', message: `Secret ${name} has none of the keys password, token, identity (SSH) or sshPrivateKey (SSH)` } };
}
