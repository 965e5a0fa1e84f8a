// Rules that overlap (issue 12, item 5): a WatchRule with a label selector and a ClusterWatchRule
// writing into the same repository, branch and folder reconcile as one — their relists never
// delete each other's files — and a rule entry limited to some operations records only those.
// Assert on the Git repository: no RECONCILE commit at all while nothing changes. The first spec
// relists by editing the rules (on the shared stack); the second lets three periodic resyncs pass
// on a control plane of its own whose kubescribe resyncs every 2 s.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBareRepo } from './stack/git-server.ts';
import { startPrivateCluster, type PrivateCluster } from './stack/private-cluster.ts';
import { eventually, freshNamespace, git, kubectl, stackEnv } from './support.ts';

const apply = (obj: unknown): Promise<string> => kubectl('admin', ['apply', '-f', '-'], JSON.stringify(obj));

describe('overlapping rules', () => {
  beforeAll(async () => {
    await eventually('the CRDs are served', async () => (await kubectl('admin', ['get', 'crd', 'watchrules.kubescribe.dev', '-o', 'name'])).includes('watchrules'));
  });

  it('share one folder without fighting, across relists; an operations-limited entry records only its operations', async () => {
    const env = stackEnv();
    const ns = await freshNamespace('overlap');
    const name = `overlap-${process.pid}-${Date.now().toString(36)}`;
    await createBareRepo(env.git.root, name, { defaultBranch: 'main' });
    const repo = join(env.git.root, `${name}.git`);
    const log = async (path?: string): Promise<Array<{ author: string; subject: string }>> => {
      const out = await git(repo, ['log', '--reverse', '--format=%an%x00%s', 'main', ...(path ? ['--', path] : [])]).catch(() => '');
      return out.split('\n').filter(Boolean).map((l) => { const [author = '', subject = ''] = l.split('\0'); return { author, subject }; });
    };
    await kubectl('admin', ['label', 'namespace', ns, `overlap=${name}`]);
    await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git-creds', namespace: ns }, stringData: { username: env.git.username, password: env.git.password } });
    await apply({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'GitRepoConfig', metadata: { name, namespace: ns }, spec: { url: env.git.url.replace(/audit\.git$/, `${name}.git`), secretRef: { name: 'git-creds' }, push: { intervalSeconds: 1 } } });
    await kubectl('alice', ['create', 'configmap', 'x', '-n', ns, '--from-literal=v=1']);
    await kubectl('alice', ['label', 'configmap', 'x', '-n', ns, 'team=a']);
    await kubectl('bob', ['create', 'configmap', 'y', '-n', ns, '--from-literal=v=1']);

    const labelled = (gen: number) => ({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'WatchRule', metadata: { name: 'team-a', namespace: ns }, spec: { gitRepoConfigRef: { name }, baseFolder: 'shared', labelSelector: { matchLabels: { team: 'a' } }, excludeUsers: [`nobody-${gen}`], rules: [{ apiGroups: [''], resources: ['configmaps'] }] } });
    const everything = (gen: number) => ({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'ClusterWatchRule', metadata: { name }, spec: { gitRepoConfigRef: { name, namespace: ns }, baseFolder: 'shared', scope: 'Namespaced', namespaceSelector: { matchLabels: { overlap: name } }, excludeUsers: [`nobody-${gen}`], rules: [{ apiGroups: [''], resources: ['configmaps'] }] } });
    await apply(labelled(0));
    await apply(everything(0));
    await apply({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'WatchRule', metadata: { name: 'deletes-only', namespace: ns }, spec: { gitRepoConfigRef: { name }, baseFolder: 'ops', rules: [{ apiGroups: [''], resources: ['configmaps'], operations: ['DELETE'] }, { apiGroups: ['apps'], resources: ['deployments'], operations: ['*'] }] } });
    await eventually('both objects in the shared folder', async () => {
      const files = (await git(repo, ['ls-tree', '-r', '--name-only', 'main']).catch(() => '')).split('\n');
      return files.includes(`shared/${ns}/core/configmaps/x.yaml`) && files.includes(`shared/${ns}/core/configmaps/y.yaml`) && files.includes(`ops/${ns}/core/configmaps/y.yaml`);
    }, 60_000);
    const before = await log();

    // Three rounds of relists (each edit of a rule relists its types and reconciles its folder),
    // each followed by a change of alice's: once it is in Git, the reconciles before it are too.
    for (let round = 1; round <= 3; round++) {
      await apply(labelled(round));
      await apply(everything(round));
      await kubectl('alice', ['patch', 'configmap', 'x', '-n', ns, '--type=merge', '-p', JSON.stringify({ data: { v: String(round + 1) } })]);
      await eventually(`alice's update ${round}`, async () => (await log(`shared/${ns}/core/configmaps/x.yaml`)).filter((c) => c.subject.startsWith('UPDATE')).length === round, 60_000);
    }
    const after = (await log()).slice(before.length);
    expect(after.filter((c) => c.subject.startsWith('RECONCILE'))).toEqual([]);
    expect(after.every((c) => c.author === 'alice')).toBe(true);
    expect((await git(repo, ['ls-tree', '-r', '--name-only', 'main'])).split('\n')).toContain(`shared/${ns}/core/configmaps/y.yaml`);
    // No UPDATE of x under `ops`: that entry records ConfigMap deletions only...
    expect((await log(`ops/${ns}/core/configmaps/x.yaml`)).filter((c) => c.subject.startsWith('UPDATE'))).toEqual([]);
    // ...and records them; its deployments entry records every operation.
    await kubectl('bob', ['delete', 'configmap', 'y', '-n', ns]);
    await kubectl('alice', ['create', 'deployment', 'web', '-n', ns, '--image=registry.invalid/web:1']);
    const ops = await eventually('the deletion and the deployment under ops', async () => {
      const d = (await log(`ops/${ns}/core/configmaps/y.yaml`)).find((c) => c.subject.startsWith('DELETE'));
      const w = (await log(`ops/${ns}/apps/deployments/web.yaml`)).find((c) => c.subject.startsWith('CREATE'));
      return d && w && { d, w };
    }, 60_000);
    expect(ops.d.author).toBe('bob');
    expect(ops.w.author).toBe('alice');
  });

  describe('through periodic resyncs', () => {
    let cluster: PrivateCluster | undefined;
    afterAll(async () => { await cluster?.close(); });

    it('three resync periods over two overlapping rules make no RECONCILE commit', async () => {
      cluster = await startPrivateCluster(stackEnv(), 'overlap');
      const c = cluster;
      const ns = 'overlap';
      await c.kubectl('admin', ['create', 'namespace', ns]);
      await c.kubectl('admin', ['label', 'namespace', ns, 'overlap=yes']);
      // The settings-file rule records nothing here (another namespace); the custom resources do.
      const inst = await c.startInstance({ name: 'overlap', namespaces: ['elsewhere'], resources: ['configmaps'], settings: (s) => {
        s.customResources = { enabled: true };
        (s.watch as Record<string, unknown>).resyncIntervalMs = 2000;
      } });
      await inst.startKubescribe();
      const a = (obj: unknown): Promise<string> => c.kubectl('admin', ['apply', '-f', '-'], JSON.stringify(obj));
      await a({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git-creds', namespace: ns }, stringData: { username: inst.git.username, password: inst.git.password } });
      await a({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'GitRepoConfig', metadata: { name: 'audit', namespace: ns }, spec: { url: inst.git.url, secretRef: { name: 'git-creds' }, push: { intervalSeconds: 1 } } });
      await c.kubectl('alice', ['create', 'configmap', 'x', '-n', ns, '--from-literal=v=1']);
      await c.kubectl('alice', ['label', 'configmap', 'x', '-n', ns, 'team=a']);
      await c.kubectl('bob', ['create', 'configmap', 'y', '-n', ns, '--from-literal=v=1']);
      await a({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'WatchRule', metadata: { name: 'team-a', namespace: ns }, spec: { gitRepoConfigRef: { name: 'audit' }, baseFolder: 'shared', labelSelector: { matchLabels: { team: 'a' } }, rules: [{ apiGroups: [''], resources: ['configmaps'] }] } });
      await a({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'ClusterWatchRule', metadata: { name: 'everything' }, spec: { gitRepoConfigRef: { name: 'audit', namespace: ns }, baseFolder: 'shared', scope: 'Namespaced', namespaceSelector: { matchLabels: { overlap: 'yes' } }, rules: [{ apiGroups: [''], resources: ['configmaps'] }] } });
      const files = async (): Promise<string[]> => (await git(inst.git.repo, ['ls-tree', '-r', '--name-only', 'main']).catch(() => '')).split('\n');
      await eventually('both objects in the shared folder', async () => {
        const f = await files();
        return f.includes(`shared/${ns}/core/configmaps/x.yaml`) && f.includes(`shared/${ns}/core/configmaps/y.yaml`);
      }, 60_000);
      const subjects = async (): Promise<string[]> => (await git(inst.git.repo, ['log', '--format=%s', 'main'])).split('\n').filter(Boolean);
      const before = (await subjects()).length;
      const resyncs = async (): Promise<number> => Number(/^kubescribe_resyncs_total\{resource="core\/configmaps"\} (\d+)/m.exec(await (await fetch(inst.metricsUrl)).text())?.[1] ?? 0);
      const start = await resyncs();
      await eventually('three periodic resyncs', async () => (await resyncs()) >= start + 3, 60_000, 500);
      // A change after them: once it is in Git, whatever the resyncs committed is too.
      await c.kubectl('carol', ['patch', 'configmap', 'y', '-n', ns, '--type=merge', '-p', '{"data":{"v":"2"}}']);
      await eventually('carol\'s update', async () => (await subjects()).some((l) => l.startsWith(`UPDATE v1 configmaps ${ns}/y`)), 60_000);
      const after = (await subjects()).slice(0, (await subjects()).length - before);
      expect(after.filter((l) => l.startsWith('RECONCILE'))).toEqual([]);
      expect(await files()).toContain(`shared/${ns}/core/configmaps/y.yaml`);
    });
  });
});
