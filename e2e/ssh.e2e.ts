// Git over SSH (issue 16): kubescribe fetches and pushes over the stack's real sshd (git-shell)
// with a Flux- or Argo CD-layout Secret; host keys fail closed; the git CLI reads the result over
// SSH with the same host key. Each test has its own namespace and repository.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBareRepo } from './stack/git-server.ts';
import { shareRepository } from './stack/ssh-server.ts';
import { eventually, freshNamespace, git, kubectl, stackEnv } from './support.ts';

const exec = promisify(execFile);

interface Cond { type: string; status: string; reason: string; message: string }

let scratch = '';
let counter = 0;

async function newRepo(prefix: string): Promise<{ url: string; path: string }> {
  const env = stackEnv();
  const name = `${prefix}-${process.pid}-${++counter}`;
  const path = await createBareRepo(env.git.root, name, { defaultBranch: 'main' });
  await shareRepository(path);
  return { url: env.git.ssh.url.replace(/audit\.git$/, `${name}.git`), path };
}

async function keygen(name: string, type: 'ed25519' | 'rsa', passphrase = ''): Promise<{ key: string; pub: string }> {
  const file = join(scratch, name);
  await exec('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '3072'] : []), '-N', passphrase, '-C', name, '-f', file]);
  return { key: await readFile(file, 'utf8'), pub: (await readFile(`${file}.pub`, 'utf8')).trim() };
}

const apply = (obj: unknown): Promise<string> => kubectl('admin', ['apply', '-f', '-'], JSON.stringify(obj));

function secret(ns: string, data: Record<string, string>) {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git-ssh', namespace: ns }, stringData: data };
}
async function configure(ns: string, url: string, secretData: Record<string, string>): Promise<void> {
  await apply(secret(ns, secretData));
  await apply({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'GitRepoConfig', metadata: { name: 'audit', namespace: ns }, spec: { url, secretRef: { name: 'git-ssh' }, push: { intervalSeconds: 1 } } });
  await apply({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'WatchRule', metadata: { name: 'cms', namespace: ns }, spec: { gitRepoConfigRef: { name: 'audit' }, rules: [{ apiGroups: [''], resources: ['configmaps'] }] } });
  await eventually('WatchRule active', async () => (await condition(ns, 'watchrule', 'cms'))?.reason === 'Active');
}
async function condition(ns: string, kind: string, name: string): Promise<Cond | undefined> {
  const obj = JSON.parse(await kubectl('admin', ['get', kind, name, '-n', ns, '-o', 'json'])) as { status?: { conditions?: Cond[] } };
  return obj.status?.conditions?.find((c) => c.type === 'Ready');
}
async function log(repoPath: string, path: string): Promise<Array<{ author: string; subject: string }>> {
  try {
    const out = await git(repoPath, ['log', '--reverse', '--format=%an%x00%s', 'main', '--', path]);
    return out.split('\n').filter(Boolean).map((l) => { const [author = '', subject = ''] = l.split('\0'); return { author, subject }; });
  } catch {
    return []; // no branch yet
  }
}

/** The Flux layout, with the stack's client key and known_hosts. */
async function fluxSecret(): Promise<Record<string, string>> {
  const env = stackEnv();
  return {
    identity: await readFile(env.git.ssh.identityFile, 'utf8'),
    'identity.pub': await readFile(`${env.git.ssh.identityFile}.pub`, 'utf8'),
    known_hosts: await readFile(env.git.ssh.knownHostsFile, 'utf8'),
  };
}

describe('git over SSH', () => {
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'ssh-e2e-'));
    await eventually('the CRDs are served', async () => (await kubectl('admin', ['get', 'crd', 'gitrepoconfigs.kubescribe.dev', '-o', 'name'])).includes('gitrepoconfigs'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('pushes alice\'s change over SSH with a Flux Secret; the git CLI clones it over SSH with the same host key', async () => {
    const env = stackEnv();
    const ns = await freshNamespace('ssh');
    const repo = await newRepo('ssh-flux');
    await configure(ns, repo.url, await fluxSecret());
    await kubectl('alice', ['create', 'configmap', 'one', '-n', ns, '--from-literal=a=1']);
    const path = `${ns}/core/configmaps/one.yaml`;
    await eventually('alice\'s commit pushed over SSH', async () => (await log(repo.path, path)).length > 0);
    await eventually('GitRepoConfig Ready', async () => (await condition(ns, 'gitrepoconfig', 'audit'))?.status === 'True');

    const clone = join(scratch, 'clone-flux');
    const sshCommand = `ssh -i ${env.git.ssh.identityFile} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${env.git.ssh.knownHostsFile}`;
    await exec('git', ['clone', '-q', repo.url, clone], { env: { ...process.env, GIT_SSH_COMMAND: sshCommand } });
    const authors = (await git(clone, ['log', '--format=%an %s', '--', path])).trim();
    expect(authors).toBe(`alice CREATE v1 configmaps ${ns}/one`);
    expect(await readFile(join(clone, path), 'utf8')).toMatch(/a: "1"|a: '1'/);
  });

  it('reports AccessDenied for a wrong key and HostKeyMismatch for a changed host key, pushes nothing, then pushes what waited once the Secret is fixed', async () => {
    const ns = await freshNamespace('sshbad');
    const repo = await newRepo('ssh-bad');
    const good = await fluxSecret();
    const stranger = await keygen('stranger', 'ed25519');
    await configure(ns, repo.url, { ...good, identity: stranger.key, 'identity.pub': stranger.pub });
    await kubectl('alice', ['create', 'configmap', 'waiting', '-n', ns, '--from-literal=k=v']);
    const denied = await eventually('AccessDenied', async () => {
      const c = await condition(ns, 'gitrepoconfig', 'audit');
      return c?.reason === 'AccessDenied' ? c : undefined;
    });
    expect(denied.status).toBe('False');
    expect(denied.message).not.toContain('PRIVATE KEY');

    // The right key, but known_hosts holds another key for the server: nothing may be sent.
    const impostor = await keygen('impostor-host', 'ed25519');
    const port = new URL(repo.url).port;
    await apply(secret(ns, { ...good, known_hosts: `[127.0.0.1]:${port} ${impostor.pub.split(' ').slice(0, 2).join(' ')}\n` }));
    await kubectl('bob', ['patch', 'configmap', 'waiting', '-n', ns, '--type=merge', '-p', '{"data":{"k":"w"}}']);
    const mismatch = await eventually('HostKeyMismatch', async () => {
      const c = await condition(ns, 'gitrepoconfig', 'audit');
      return c?.reason === 'HostKeyMismatch' ? c : undefined;
    });
    expect(mismatch.status).toBe('False');
    expect(mismatch.message).toContain(`[127.0.0.1]:${port}`);
    expect(await log(repo.path, `${ns}/core/configmaps/waiting.yaml`)).toEqual([]);

    // No entry for the host at all: unknown, never trusted on first use.
    await apply(secret(ns, { ...good, known_hosts: `[127.0.0.1]:1 ${impostor.pub.split(' ').slice(0, 2).join(' ')}\n` }));
    await eventually('HostKeyUnknown', async () => (await condition(ns, 'gitrepoconfig', 'audit'))?.reason === 'HostKeyUnknown');
    expect(await log(repo.path, `${ns}/core/configmaps/waiting.yaml`)).toEqual([]);

    await apply(secret(ns, good));
    const commits = await eventually('the waiting changes are pushed', async () => {
      const l = await log(repo.path, `${ns}/core/configmaps/waiting.yaml`);
      return l.length >= 2 ? l : undefined;
    }, 60_000);
    expect(commits.map((c) => c.author)).toEqual(['alice', 'bob']);
    await eventually('Ready again', async () => (await condition(ns, 'gitrepoconfig', 'audit'))?.status === 'True');
  });

  it('works with an Argo CD-layout Secret holding a passphrase-protected RSA key', async () => {
    const env = stackEnv();
    const ns = await freshNamespace('sshrsa');
    const repo = await newRepo('ssh-rsa');
    const rsa = await keygen('deploy-rsa', 'rsa', 'correct horse');
    // The server accepts this deploy key too (authorized_keys of the stack's sshd).
    const authorized = join(env.git.ssh.identityFile, '..', 'authorized_keys');
    const before = await readFile(authorized, 'utf8');
    await exec('sh', ['-c', `printf '%s\\n' "$1" >> "$2"`, 'sh', rsa.pub, authorized]);
    try {
      await configure(ns, repo.url, { sshPrivateKey: rsa.key, password: 'correct horse', known_hosts: await readFile(env.git.ssh.knownHostsFile, 'utf8') });
      await kubectl('carol', ['create', 'configmap', 'rsa', '-n', ns, '--from-literal=a=1']);
      const commits = await eventually('carol\'s commit pushed with the RSA key', async () => {
        const l = await log(repo.path, `${ns}/core/configmaps/rsa.yaml`);
        return l.length > 0 ? l : undefined;
      });
      expect(commits.map((c) => c.author)).toEqual(['carol']);
    } finally {
      await exec('sh', ['-c', 'printf "%s" "$1" > "$2"', 'sh', before, authorized]);
    }
  });
});
