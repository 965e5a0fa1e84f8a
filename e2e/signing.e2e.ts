// Signed commits (issue 16): a GitRepoConfig with spec.commit.signing → every commit kubescribe
// writes verifies with the real tools (`git verify-commit` with an allowed-signers file for SSH
// signatures, gpg with the public key imported for OpenPGP), replays after a push conflict
// included; a commit altered afterwards does not; the public key and fingerprint are in .status;
// without a usable key nothing is committed, and what waited is committed, signed, once fixed.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBareRepo } from './stack/git-server.ts';
import { eventually, freshNamespace, git, kubectl, stackEnv } from './support.ts';

const exec = promisify(execFile);
const apply = (obj: unknown): Promise<string> => kubectl('admin', ['apply', '-f', '-'], JSON.stringify(obj));

interface Cond { type: string; status: string; reason: string; message: string }
interface Status { conditions?: Cond[]; signing?: { format: string; publicKey: string; fingerprint: string } }

let scratch = '';

async function status(ns: string): Promise<Status> {
  return (JSON.parse(await kubectl('admin', ['get', 'gitrepoconfig', 'audit', '-n', ns, '-o', 'json'])) as { status?: Status }).status ?? {};
}
const signingSecret = (ns: string, key: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'audit-signing', namespace: ns }, stringData: { 'signing.key': key } });

/** kubescribe's commits on the branch (committer kubescribe), newest first, with author and subject. */
async function ours(repo: string): Promise<Array<{ sha: string; author: string; subject: string }>> {
  const out = await git(repo, ['log', '--format=%H%x00%an%x00%cn%x00%s', 'main']).catch(() => '');
  return out.split('\n').filter(Boolean).map((l) => l.split('\0')).filter((p) => p[2] === 'kubescribe').map(([sha = '', author = '', , subject = '']) => ({ sha, author, subject }));
}

async function verifySsh(repo: string, publicKey: string, sha: string): Promise<boolean> {
  const allowed = join(scratch, 'allowed_signers');
  await writeFile(allowed, `* ${publicKey}\n`);
  return exec('git', ['-C', repo, '-c', 'gpg.format=ssh', '-c', `gpg.ssh.allowedSignersFile=${allowed}`, 'verify-commit', sha]).then(() => true, () => false);
}

/** The same commit with its message changed and its signature kept, written into the repository. */
async function forge(repo: string, sha: string): Promise<string> {
  const body = (await exec('git', ['-C', repo, 'cat-file', 'commit', sha])).stdout.replace(/\n\n(.*)/, '\n\n$1 (edited)');
  await writeFile(join(scratch, 'forged'), body);
  return (await exec('git', ['-C', repo, 'hash-object', '-w', '-t', 'commit', join(scratch, 'forged')])).stdout.trim();
}

describe('signed commits', () => {
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'signing-e2e-'));
    await eventually('the CRDs are served', async () => (await kubectl('admin', ['get', 'crd', 'gitrepoconfigs.kubescribe.dev', '-o', 'name'])).includes('gitrepoconfigs'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('SSH then OpenPGP: every commit verifies, replays after a push conflict too; fail closed without a key', async () => {
    const env = stackEnv();
    const ns = await freshNamespace('sign');
    const name = `signed-${process.pid}`;
    const repo = await createBareRepo(env.git.root, name, { defaultBranch: 'main' });
    const url = env.git.url.replace(/audit\.git$/, `${name}.git`);
    const keyFile = join(scratch, 'id_ed25519');
    await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kubescribe', '-f', keyFile]);

    await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git-creds', namespace: ns }, stringData: { username: env.git.username, password: env.git.password } });
    await apply(signingSecret(ns, await readFile(keyFile, 'utf8')));
    await apply({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'GitRepoConfig', metadata: { name: 'audit', namespace: ns },
      spec: { url, secretRef: { name: 'git-creds' }, push: { intervalSeconds: 8 }, commit: { signing: { secretRef: { name: 'audit-signing' } } } } });
    await apply({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'WatchRule', metadata: { name: 'cms', namespace: ns }, spec: { gitRepoConfigRef: { name: 'audit' }, rules: [{ apiGroups: [''], resources: ['configmaps'] }] } });

    // .status.signing: the public key a reviewer adds to the allowed signers, and its fingerprint.
    const published = await eventually('.status.signing', async () => (await status(ns)).signing);
    expect(published.format).toBe('ssh');
    expect((await exec('ssh-keygen', ['-lf', `${keyFile}.pub`])).stdout).toContain(published.fingerprint);

    await kubectl('alice', ['create', 'configmap', 'zero', '-n', ns, '--from-literal=a=0']);
    await eventually('alice\'s commit pushed', async () => (await ours(repo)).some((c) => c.subject.endsWith(`${ns}/zero`)), 60_000);

    // A push conflict: someone else pushes while kubescribe holds bob's commit (pushes every 8 s).
    await kubectl('bob', ['create', 'configmap', 'one', '-n', ns, '--from-literal=a=1']);
    const other = join(scratch, 'other');
    await exec('git', ['clone', '-q', '-b', 'main', env.git.url.replace('://', `://${env.git.username}:${env.git.password}@`).replace(/audit\.git$/, `${name}.git`), other]);
    await writeFile(join(other, 'NOTES.md'), 'hand-written\n');
    await exec('git', ['-C', other, 'add', 'NOTES.md']);
    await exec('git', ['-C', other, '-c', 'user.name=dave', '-c', 'user.email=dave@example.com', 'commit', '-qm', 'notes by hand']);
    await exec('git', ['-C', other, 'push', '-q', 'origin', 'main']);
    const foreign = (await exec('git', ['-C', other, 'rev-parse', 'HEAD'])).stdout.trim();
    const one = await eventually('bob\'s commit replayed and pushed', async () => (await ours(repo)).find((c) => c.subject.endsWith(`${ns}/one`)), 60_000);
    // Replayed: bob's commit now sits on top of dave's, so it is a new commit object, signed again.
    await exec('git', ['-C', repo, 'merge-base', '--is-ancestor', foreign, one.sha]);
    expect(one.author).toBe('bob');

    for (const c of await ours(repo)) expect(await verifySsh(repo, published.publicKey, c.sha), `${c.subject} verifies`).toBe(true);
    expect(await verifySsh(repo, published.publicKey, await forge(repo, one.sha))).toBe(false);

    // Fail closed: an unusable key → SigningKeyInvalid, carol's change is not committed unsigned.
    await apply(signingSecret(ns, 'not a key'));
    await eventually('SigningKeyInvalid', async () => (await status(ns)).conditions?.some((c) => c.reason === 'SigningKeyInvalid'));
    await kubectl('carol', ['create', 'configmap', 'two', '-n', ns, '--from-literal=a=2']);
    const quietUntil = Date.now() + 12_000; // longer than a push interval: an unsigned commit would have arrived
    while (Date.now() < quietUntil) {
      expect((await ours(repo)).some((c) => c.subject.endsWith(`${ns}/two`))).toBe(false);
      await new Promise((r) => setTimeout(r, 500));
    }

    // OpenPGP: the fixed Secret holds an armored key; carol's change is committed, signed by it.
    const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'kubescribe', email: 'kubescribe@kubescribe.dev' }], format: 'armored' });
    await apply(signingSecret(ns, privateKey));
    const pgp = await eventually('.status.signing openpgp', async () => ((await status(ns)).signing?.format === 'openpgp' ? (await status(ns)).signing : undefined));
    const two = await eventually('carol\'s change committed once the key is fixed', async () => (await ours(repo)).find((c) => c.subject.endsWith(`${ns}/two`)), 60_000);
    expect(two.author).toBe('carol');
    const gnupg = join(scratch, 'gnupg');
    await mkdir(gnupg, { mode: 0o700 });
    const gpgEnv = { ...process.env, GNUPGHOME: gnupg };
    await writeFile(join(scratch, 'pub.asc'), publicKey);
    await exec('gpg', ['--batch', '--import', join(scratch, 'pub.asc')], { env: gpgEnv });
    expect((await exec('gpg', ['--batch', '--with-colons', '--fingerprint'], { env: gpgEnv })).stdout).toContain(pgp!.fingerprint);
    await exec('git', ['-C', repo, 'verify-commit', two.sha], { env: gpgEnv });
    await expect(exec('git', ['-C', repo, 'verify-commit', await forge(repo, two.sha)], { env: gpgEnv })).rejects.toThrow();
  });
});
