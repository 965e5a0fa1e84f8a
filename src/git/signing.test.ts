// Signed commits checked by the real tools: `git verify-commit` with an allowed-signers file (SSH)
// and with gpg holding the public key (OpenPGP), on a CLI clone of what the writer pushed.
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as openpgp from 'openpgp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitWriter } from './index.ts';
import { eddsaSignature, loadSigner, type CommitSigner } from './signing.ts';
import { PASSWORD, silentLogger, startGitRemote, USER, type GitRemote } from './testing/git-remote.ts';
import type { CommitSigning } from './types.ts';

const exec = promisify(execFile);

async function sshKey(dir: string, type: 'ed25519' | 'rsa', passphrase = ''): Promise<string> {
  const file = join(dir, `id_${type}`);
  await exec('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', passphrase, '-C', 'kubescribe', '-f', file]);
  return readFile(file, 'utf8');
}

describe('signed commits', () => {
  let remote: GitRemote;
  let signing: CommitSigning;
  const writers: GitWriter[] = [];

  beforeEach(async () => { remote = await startGitRemote(); signing = undefined; });
  afterEach(async () => {
    for (const w of writers.splice(0)) await w.close().catch(() => undefined);
    await remote.stop();
  });

  async function pushTwo(): Promise<string> {
    const w = await GitWriter.open({
      dir: join(remote.tmp, `clone-${writers.length}`), url: remote.url, branch: 'main', credentials: () => ({ username: USER, password: PASSWORD }),
      committer: { name: 'kubescribe', email: 'kubescribe@example.com' }, signing: () => signing, pushIntervalMs: 3_600_000, logger: silentLogger,
    });
    writers.push(w);
    await w.commit({ changes: [{ path: 'shop/a.yaml', content: 'a: 1\n' }], author: { name: 'alice', email: 'alice@example.com' }, message: 'CREATE a\n' });
    await w.commit({ changes: [{ path: 'shop/a.yaml', content: 'a: 2\n' }], author: { name: 'bob', email: 'bob@example.com' }, message: 'UPDATE a\n' });
    expect((await w.flush()).ok).toBe(true);
    const dir = join(remote.tmp, `check-${writers.length}`);
    await exec('git', ['clone', '-q', '-b', 'main', remote.cliUrl, dir]);
    return dir;
  }

  const commits = async (dir: string): Promise<string[]> => (await exec('git', ['-C', dir, 'rev-list', 'HEAD'])).stdout.trim().split('\n');

  async function verifySsh(dir: string, signer: CommitSigner, sha: string): Promise<boolean> {
    const allowed = join(remote.tmp, 'allowed_signers');
    await writeFile(allowed, `kubescribe@example.com ${signer.publicKey}\n`);
    return exec('git', ['-C', dir, '-c', 'gpg.format=ssh', '-c', `gpg.ssh.allowedSignersFile=${allowed}`, 'verify-commit', sha]).then(() => true, () => false);
  }

  it.each(['ed25519', 'rsa'] as const)('SSH (%s): every commit verifies; the author stays the user; a commit altered afterwards does not', async (type) => {
    const signer = await loadSigner(await sshKey(remote.tmp, type));
    expect(signer.format).toBe('ssh');
    const { stdout: fp } = await exec('ssh-keygen', ['-lf', join(remote.tmp, `id_${type}.pub`)]);
    expect(fp).toContain(signer.fingerprint);
    signing = { signer };
    const dir = await pushTwo();
    const shas = await commits(dir);
    expect(shas).toHaveLength(2);
    for (const sha of shas) expect(await verifySsh(dir, signer, sha)).toBe(true);
    expect((await exec('git', ['-C', dir, 'log', '--format=%an|%cn'])).stdout.trim().split('\n')).toEqual(['bob|kubescribe', 'alice|kubescribe']);
    // Tamper: the same commit with another message, signature kept.
    const body = (await exec('git', ['-C', dir, 'cat-file', 'commit', shas[0]!])).stdout.replace('UPDATE a', 'UPDATE a (edited)');
    await writeFile(join(remote.tmp, 'forged'), body);
    const forged = (await exec('git', ['-C', dir, 'hash-object', '-w', '-t', 'commit', join(remote.tmp, 'forged')])).stdout.trim();
    expect(await verifySsh(dir, signer, forged)).toBe(false);
  });

  it('an encrypted SSH key needs its passphrase, and a wrong one is a clear error', async () => {
    const key = await sshKey(remote.tmp, 'ed25519', 'open sesame');
    await expect(loadSigner(key)).rejects.toMatchObject({ code: 'KUBESCRIBE_ERR_GIT_SIGNING_KEY' });
    await expect(loadSigner(key, 'wrong')).rejects.toMatchObject({ code: 'KUBESCRIBE_ERR_GIT_SIGNING_KEY' });
    expect((await loadSigner(key, 'open sesame')).format).toBe('ssh');
    await expect(loadSigner('hello')).rejects.toThrow(/neither an OpenSSH\/PEM private key nor an armored OpenPGP/);
  });

  it.each([
    ['ed25519, signed by node:crypto', { type: 'ecc', curve: 'curve25519Legacy' }],
    ['RSA, signed by openpgp.sign', { type: 'rsa', rsaBits: 2048 }],
  ] as const)('OpenPGP (%s): every commit verifies with gpg; an altered commit does not', async (_name, keyType) => {
    const { privateKey, publicKey } = await openpgp.generateKey({ ...keyType, userIDs: [{ name: 'kubescribe', email: 'kubescribe@example.com' }], format: 'armored' });
    const signer = await loadSigner(privateKey);
    expect(signer.format).toBe('openpgp');
    signing = { signer };
    const dir = await pushTwo();
    const gnupg = join(remote.tmp, 'gnupg');
    await mkdir(gnupg, { mode: 0o700 });
    const env = { ...process.env, GNUPGHOME: gnupg };
    await writeFile(join(remote.tmp, 'pub.asc'), publicKey);
    await exec('gpg', ['--batch', '--import', join(remote.tmp, 'pub.asc')], { env });
    const { stdout: listing } = await exec('gpg', ['--batch', '--with-colons', '--fingerprint'], { env });
    expect(listing).toContain(signer.fingerprint);
    for (const sha of await commits(dir)) await exec('git', ['-C', dir, 'verify-commit', sha], { env });
    const [head] = await commits(dir);
    const body = (await exec('git', ['-C', dir, 'cat-file', 'commit', head!])).stdout.replace('UPDATE a', 'UPDATE b');
    await writeFile(join(remote.tmp, 'forged'), body);
    const forged = (await exec('git', ['-C', dir, 'hash-object', '-w', '-t', 'commit', join(remote.tmp, 'forged')])).stdout.trim();
    await expect(exec('git', ['-C', dir, 'verify-commit', forged], { env })).rejects.toThrow();
  });

  it('the node:crypto path makes the EdDSA signature gpg expects, for any payload', async () => {
    const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'kubescribe', email: 'kubescribe@example.com' }], format: 'object' });
    const sign = eddsaSignature((await privateKey.getSigningKey()).keyPacket);
    expect(sign).toBeDefined();
    const gnupg = join(remote.tmp, 'gnupg-direct');
    await mkdir(gnupg, { mode: 0o700 });
    const env = { ...process.env, GNUPGHOME: gnupg };
    await writeFile(join(remote.tmp, 'pub-direct.asc'), publicKey.armor());
    await exec('gpg', ['--batch', '--import', join(remote.tmp, 'pub-direct.asc')], { env });
    for (const size of [0, 1, 191, 8000, 100_000]) {
      const payload = Buffer.alloc(size, size % 251);
      await writeFile(join(remote.tmp, 'payload'), payload);
      await writeFile(join(remote.tmp, 'payload.asc'), sign!(payload));
      await exec('gpg', ['--batch', '--verify', join(remote.tmp, 'payload.asc'), join(remote.tmp, 'payload')], { env });
      await writeFile(join(remote.tmp, 'payload'), Buffer.concat([payload, Buffer.from('x')]));
      await expect(exec('gpg', ['--batch', '--verify', join(remote.tmp, 'payload.asc'), join(remote.tmp, 'payload')], { env })).rejects.toThrow();
    }
  });

  it('signing on without a usable key: nothing is committed, not even unsigned', async () => {
    signing = { problem: 'the Secret audit-signing has no signing.key' };
    const w = await GitWriter.open({
      dir: join(remote.tmp, 'clone-x'), url: remote.url, branch: 'main', credentials: () => ({ username: USER, password: PASSWORD }),
      committer: { name: 'kubescribe', email: 'k@example.com' }, signing: () => signing, pushIntervalMs: 3_600_000, logger: silentLogger,
    });
    writers.push(w);
    await expect(w.commit({ changes: [{ path: 'a.yaml', content: 'a\n' }], author: { name: 'alice', email: 'a@example.com' }, message: 'x\n' })).rejects.toMatchObject({ code: 'KUBESCRIBE_ERR_GIT_SIGNING_KEY' });
    expect(w.pending()).toBe(0);
    // The key arrives: the same change commits, signed, and nothing of the refused attempt leaks in.
    signing = { signer: await loadSigner(await sshKey(remote.tmp, 'ed25519')) };
    await w.commit({ changes: [{ path: 'a.yaml', content: 'a\n' }], author: { name: 'alice', email: 'a@example.com' }, message: 'x\n' });
    expect(w.pending()).toBe(1);
  });
});
