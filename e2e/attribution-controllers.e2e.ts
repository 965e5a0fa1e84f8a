// Attribution of what the real controllers do (issue 15), on the stack's kube-controller-manager:
// the ReplicaSets the deployment controller makes are its own; what the namespace controller and
// the garbage collector delete is theirs too, but names the user whose deletion set it off
// (Kubescribe-Cause). Asserted on the Git repository: commit authors, trailers, body.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBareRepo } from './stack/git-server.ts';
import { eventually, freshNamespace, git, kubectl, remoteLog, stackEnv, type CommitInfo } from './support.ts';

const SA = (name: string): string => `system:serviceaccount:kube-system:${name}`;
const apply = (obj: unknown): Promise<string> => kubectl('admin', ['apply', '-f', '-'], JSON.stringify(obj));
const trailer = (body: string, name: string): string | undefined => new RegExp(`^${name}: (.*)$`, 'm').exec(body)?.[1];

interface Commit { author: string; subject: string; body: string }

/** A repository of its own on the stack's Git server, recording Deployments and ReplicaSets of `ns`. */
async function deploymentsRepo(ns: string): Promise<(path?: string) => Promise<Commit[]>> {
  const env = stackEnv();
  const name = `cause-${process.pid}-${ns}`;
  await createBareRepo(env.git.root, name, { defaultBranch: 'main' });
  await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git-creds', namespace: ns }, stringData: { username: env.git.username, password: env.git.password } });
  await apply({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'GitRepoConfig', metadata: { name, namespace: ns }, spec: { url: env.git.url.replace(/audit\.git$/, `${name}.git`), secretRef: { name: 'git-creds' }, push: { intervalSeconds: 1 } } });
  await apply({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'WatchRule', metadata: { name: 'apps', namespace: ns }, spec: { gitRepoConfigRef: { name }, rules: [{ apiGroups: ['apps'], resources: ['deployments', 'replicasets'] }] } });
  await eventually('the WatchRule is ready', async () => {
    const s = JSON.parse(await kubectl('admin', ['get', 'watchrule', 'apps', '-n', ns, '-o', 'json'])) as { status?: { conditions?: Array<{ type: string; status: string }> } };
    return s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  }, 60_000);
  const path = join(env.git.root, `${name}.git`);
  return async (p?: string) => {
    const out = await git(path, ['log', '--reverse', '--format=%x1e%an%x00%s%x00%b', 'main', ...(p ? ['--', p] : [])]).catch(() => '');
    return out.split('\u001e').filter((c) => c.trim()).map((c) => {
      const [author = '', subject = '', body = ''] = c.split('\0');
      return { author, subject, body };
    });
  };
}

const deployment = (ns: string, image: string): unknown => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: ns },
  spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image }] } } },
});

describe('attribution of the controllers\' work', () => {
  beforeAll(async () => {
    await eventually('the CRDs are served', async () => (await kubectl('admin', ['get', 'crd', 'watchrules.kubescribe.dev', '-o', 'name'])).includes('watchrules'));
    // bob may delete namespaces (alice, bob and carol have edit rights, which do not include it).
    const name = `cause-ns-delete-${process.pid}`;
    await apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['delete', 'get'] }] });
    await apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name }, subjects: [{ kind: 'User', name: 'bob', apiGroup: 'rbac.authorization.k8s.io' }] });
  });

  it('alice edits a Deployment: hers; the ReplicaSets are the deployment controller\'s; alice deletes it: the garbage collector removes them, naming alice', async () => {
    const ns = await freshNamespace('cause-deploy');
    const log = await deploymentsRepo(ns);
    const rsCommits = async (): Promise<Commit[]> => (await log(`${ns}/apps/replicasets`));
    const web = `${ns}/apps/deployments/web.yaml`;
    await kubectl('alice', ['apply', '-f', '-'], JSON.stringify(deployment(ns, 'nginx:1.25')));
    await eventually('the first ReplicaSet recorded', async () => (await rsCommits()).some((c) => c.subject.startsWith('CREATE')), 60_000);
    await kubectl('alice', ['apply', '-f', '-'], JSON.stringify(deployment(ns, 'nginx:1.27')));
    const rsCreated = await eventually('the second ReplicaSet recorded', async () => {
      const created = (await rsCommits()).filter((c) => c.subject.startsWith('CREATE'));
      return created.length >= 2 && created;
    }, 60_000);
    // (a) alice's edit is hers; every ReplicaSet change is the deployment controller's.
    const edits = await eventually('alice\'s edit recorded', async () => {
      const h = await log(web);
      return h.some((c) => c.author === 'alice' && c.subject.startsWith('UPDATE')) && h;
    });
    expect(edits[0]).toMatchObject({ author: 'alice', subject: `CREATE apps/v1 deployments ${ns}/web` });
    expect(rsCreated.map((c) => c.author)).toEqual([SA('deployment-controller'), SA('deployment-controller')]);
    expect((await rsCommits()).every((c) => c.author === SA('deployment-controller') && trailer(c.body, 'Kubescribe-Cause') === undefined)).toBe(true);

    // (c) alice deletes the Deployment; the garbage collector deletes its ReplicaSets.
    const rsNames = rsCreated.map((c) => c.subject.split(' ').at(-1)!);
    await kubectl('alice', ['delete', 'deployment', 'web', '-n', ns, '--wait=false']);
    const removed = await eventually('both ReplicaSets\' deletions recorded', async () => {
      const deletes = (await rsCommits()).filter((c) => c.subject.startsWith('DELETE') && trailer(c.body, 'Kubescribe-Deletion') !== 'requested');
      return deletes.length >= 2 && deletes;
    }, 60_000);
    expect(removed.map((c) => c.subject.split(' ').at(-1)).sort()).toEqual([...rsNames].sort());
    for (const c of removed) {
      expect(c.author).toBe(SA('generic-garbage-collector'));
      expect(trailer(c.body, 'Kubescribe-User')).toBe(SA('generic-garbage-collector'));
      expect(trailer(c.body, 'Kubescribe-Cause')).toBe('alice');
      expect(c.body).toContain(`Removed by the garbage collector because alice deleted deployments ${ns}/web.`);
    }
    const gone = (await log(web)).at(-1)!;
    expect(gone).toMatchObject({ author: 'alice', subject: `DELETE apps/v1 deployments ${ns}/web` });
    expect(trailer(gone.body, 'Kubescribe-Cause')).toBeUndefined();
  });

  it('bob deletes a namespace: the namespace controller removes its ConfigMaps, each naming bob', async () => {
    const ns = await freshNamespace('cause-ns');
    const names = ['one', 'two'];
    for (const name of names) await kubectl('alice', ['create', 'configmap', name, '-n', ns, '--from-literal=k=v']);
    const path = (name: string): string => `${ns}/core/configmaps/${name}.yaml`;
    for (const name of names) await eventually(`ConfigMap ${name} recorded`, async () => (await remoteLog(path(name))).length === 1, 60_000);
    await kubectl('bob', ['delete', 'namespace', ns, '--wait=false']);
    for (const name of names) {
      const gone: CommitInfo = await eventually(`ConfigMap ${name}'s deletion recorded`, async () => (await remoteLog(path(name)))[1], 90_000);
      expect(gone).toMatchObject({ author: SA('namespace-controller'), subject: `DELETE v1 configmaps ${ns}/${name}` });
      expect(trailer(gone.body, 'Kubescribe-User')).toBe(SA('namespace-controller'));
      expect(trailer(gone.body, 'Kubescribe-Cause')).toBe('bob');
      expect(gone.body).toContain(`Removed by the namespace controller because bob deleted namespace ${ns}.`);
    }
  });
});
