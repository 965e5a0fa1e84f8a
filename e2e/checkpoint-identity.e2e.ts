// A checkpoint kubescribe must not trust (issue 14 item 3, with issue 17's checkpoint format): a
// branch whose checkpoint file was written by another cluster, or is ahead of this cluster's
// current resourceVersion (etcd restored or replaced: the apiserver would answer "too large resource
// version"). Without the check, everything at or below that version would be skipped as "already
// recorded" — silently. With it: shown in .status with its reason, answered by a reconcile, and
// later changes are recorded. Through a GitRepoConfig + WatchRule on the shared stack's kubescribe.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBareRepo } from './stack/git-server.ts';
import { eventually, freshNamespace, git, kubectl, stackEnv } from './support.ts';

interface Status { checkpoint?: { reason: string; message: string; resource: string } }

/** A repository whose main branch holds only a checkpoint file with this content. */
async function seededRepo(name: string, checkpoints: unknown): Promise<{ url: string; path: string }> {
  const env = stackEnv();
  const path = await createBareRepo(env.git.root, name, { defaultBranch: 'main' });
  const work = await mkdtemp(join(tmpdir(), 'ks-seed-'));
  try {
    await git(work, ['init', '-q', '-b', 'main']);
    await git(work, ['-c', 'user.name=seed', '-c', 'user.email=seed@x', 'commit', '-q', '--allow-empty', '-m', 'seed']);
    const { writeFile, mkdir } = await import('node:fs/promises');
    await mkdir(join(work, '.kubescribe'));
    await writeFile(join(work, '.kubescribe', 'checkpoints.json'), JSON.stringify(checkpoints));
    await git(work, ['add', '.']);
    await git(work, ['-c', 'user.name=seed', '-c', 'user.email=seed@x', 'commit', '-q', '-m', 'checkpoint from elsewhere']);
    await git(work, ['push', '-q', path, 'main']);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { url: env.git.url.replace(/audit\.git$/, `${name}.git`), path };
}

async function subjects(repo: string): Promise<string[]> {
  return (await git(repo, ['log', '--reverse', '--format=%s', 'main'])).split('\n').filter(Boolean);
}

describe('checkpoints kubescribe does not trust', () => {
  it.each([
    ['ahead of the cluster', 'CheckpointAhead', (_uid: string) => ({ resourceVersions: { '|core/configmaps': '999999999' } })],
    ['written by another cluster', 'CheckpointFromOtherCluster', (_uid: string) => ({ cluster: { name: '', uid: 'another-cluster-uid' }, resourceVersions: { '|core/configmaps': '1' } })],
  ])('%s: .status says so, a reconcile answers it, and later changes are recorded', async (_what, reason, checkpoints) => {
    const ns = await freshNamespace('cp');
    const uid = (await kubectl('admin', ['get', 'namespace', 'kube-system', '-o', 'jsonpath={.metadata.uid}'])).trim();
    const repo = await seededRepo(`cp-${reason.toLowerCase()}-${process.pid}`, checkpoints(uid));
    await kubectl('alice', ['create', 'configmap', 'before', '-n', ns, '--from-literal=a=1']);
    const env = stackEnv();
    await kubectl('admin', ['apply', '-f', '-'], [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git-creds', namespace: ns }, stringData: { username: env.git.username, password: env.git.password } },
      { apiVersion: 'kubescribe.dev/v1alpha1', kind: 'GitRepoConfig', metadata: { name: 'audit', namespace: ns }, spec: { url: repo.url, secretRef: { name: 'git-creds' }, push: { intervalSeconds: 1 } } },
      { apiVersion: 'kubescribe.dev/v1alpha1', kind: 'WatchRule', metadata: { name: 'cms', namespace: ns }, spec: { gitRepoConfigRef: { name: 'audit' }, rules: [{ apiGroups: [''], resources: ['configmaps'] }] } },
    ].map((o) => JSON.stringify(o)).join('\n'));

    const status = await eventually('.status.checkpoint on the WatchRule', async () => {
      const s = (JSON.parse(await kubectl('admin', ['get', 'watchrule', 'cms', '-n', ns, '-o', 'json'])) as { status?: Status }).status;
      return s?.checkpoint ? s : undefined;
    }, 60_000);
    expect(status.checkpoint).toMatchObject({ reason, resource: 'core/configmaps', message: expect.stringMatching(/answered by a reconcile/) });
    const grc = (JSON.parse(await kubectl('admin', ['get', 'gitrepoconfig', 'audit', '-n', ns, '-o', 'json'])) as { status?: Status }).status;
    expect(grc?.checkpoint?.reason).toBe(reason);

    // The reconcile records what exists; a later change is a commit of its own, by its author.
    await eventually('the reconcile', async () => (await subjects(repo.path)).some((s) => s.startsWith('RECONCILE v1 configmaps')));
    expect(await git(repo.path, ['show', `main:${ns}/core/configmaps/before.yaml`])).toMatch(/a: "1"/);
    await kubectl('bob', ['create', 'configmap', 'after', '-n', ns, '--from-literal=b=2']);
    await eventually('bob\'s change', async () => (await subjects(repo.path)).includes(`CREATE v1 configmaps ${ns}/after`));
    // The branch's checkpoint file now names this cluster and holds a version of this cluster.
    const file = JSON.parse(await git(repo.path, ['show', 'main:.kubescribe/checkpoints.json'])) as { cluster?: { uid: string }; resourceVersions: Record<string, string> };
    expect(file.cluster?.uid).toBe(uid);
    expect(Number(file.resourceVersions['|core/configmaps'])).toBeLessThan(999999999);
    await kubectl('admin', ['delete', 'watchrule', 'cms', '-n', ns]);
  });
});
