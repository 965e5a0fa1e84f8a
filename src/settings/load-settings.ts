// Reads the settings file (YAML), applies defaults, validates once and freezes the result.
// Secrets (Git credentials, the Secret hash key) are read from files or the environment and kept
// out of the Settings object so that logging settings never prints them.
import type { Credentials } from '../git/types.ts';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { KubescribeError } from '../errors.ts';
import { SettingsSchema, type Settings } from './schema.ts';

export interface Secrets {
  gitCredentials: () => Credentials | undefined;
  /** The bootstrap repository's commit signing key (git.signing), never logged. */
  signingKey?: { key: string; passphrase?: string };
  secretHashKey: Buffer;
  /** Shared by the replicas to authenticate peer requests; undefined: no sharing. */
  peerSecret?: string;
}

export function parseSettings(raw: unknown): Readonly<Settings> {
  const result = SettingsSchema.safeParse(raw ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `invalid settings: ${problems}`);
  }
  return deepFreeze(result.data);
}

export function loadSettingsFile(file: string): Readonly<Settings> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `cannot read settings file ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `settings file ${file} is not valid YAML: ${(err as Error).message}`);
  }
  return parseSettings(raw);
}

function readSecretFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `cannot read ${what} from ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

export function loadSecrets(settings: Settings, env: NodeJS.ProcessEnv = process.env): Secrets {
  const keyText = settings.sanitize.secretHashKeyFile
    ? readSecretFile(settings.sanitize.secretHashKeyFile, 'the Secret hash key')
    : env.KUBESCRIBE_SECRET_HASH_KEY;
  if (!keyText || keyText.length < 16) {
    throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID',
      'a Secret hash key of at least 16 characters is required (sanitize.secretHashKeyFile or KUBESCRIBE_SECRET_HASH_KEY): Secret values are recorded only as keyed hashes');
  }
  const git = settings.git;
  // Read at every use, so that a rotated credentials file takes effect without a restart.
  const gitCredentials = (): Credentials | undefined => {
    if (git?.ssh) {
      return {
        username: '', password: '',
        ssh: {
          privateKey: readSecretFile(git.ssh.identityFile, 'the Git SSH private key'),
          knownHosts: readSecretFile(git.ssh.knownHostsFile, 'the Git known_hosts'),
          ...(git.ssh.passphraseFile ? { passphrase: readSecretFile(git.ssh.passphraseFile, 'the Git SSH key passphrase') } : {}),
        },
      };
    }
    const username = git?.usernameFile ? readSecretFile(git.usernameFile, 'the Git username') : env.KUBESCRIBE_GIT_USERNAME;
    const password = git?.passwordFile ? readSecretFile(git.passwordFile, 'the Git password') : env.KUBESCRIBE_GIT_PASSWORD;
    if (username === undefined && password === undefined) return undefined;
    return { username: username ?? '', password: password ?? '' };
  };
  gitCredentials();
  const peerSecret = settings.peers.secretFile ? readSecretFile(settings.peers.secretFile, 'the peer secret') : env.KUBESCRIBE_PEER_SECRET;
  if (peerSecret !== undefined && peerSecret.length < 16) {
    throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', 'the peer secret must have at least 16 characters');
  }
  // Without a CA the peers' certificates could not be verified, and the shared secret (and every
  // author) would go to whoever answers at a peer's address.
  if (peerSecret !== undefined && !settings.peers.caFile) {
    throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', 'a peer secret is set but peers.caFile is not: set peers.caFile to the CA that signed the replicas\' webhook certificates (peers are only reached over verified TLS)');
  }
  const signingKey = git?.signing
    ? { key: readSecretFile(git.signing.keyFile, 'the commit signing key'), ...(git.signing.passphraseFile ? { passphrase: readSecretFile(git.signing.passphraseFile, 'the signing key passphrase') } : {}) }
    : undefined;
  return { gitCredentials, secretHashKey: Buffer.from(keyText, 'utf8'), peerSecret, signingKey };
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
