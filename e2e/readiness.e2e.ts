// Readiness depends only on the webhook serving (issue 12, item 4). In a cluster the webhook
// Service sends only to ready pods: a tenant's wrong repository URL or a rule for a type kubescribe
// may not watch must not take the webhook away — every change in the cluster would then pass
// unattributed. A control plane of its own, where kubescribe's RBAC does not cover Services.
import { afterAll, describe, expect, it } from 'vitest';
import { startPrivateCluster, type PrivateCluster } from './stack/private-cluster.ts';
import { eventually, git, stackEnv } from './support.ts';

const RESTRICTED = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: kubescribe }
rules:
- { apiGroups: [""], resources: [configmaps, namespaces, secrets], verbs: [get, list, watch] }
- { apiGroups: [kubescribe.dev], resources: ["*"], verbs: [get, list, watch] }
- { apiGroups: [kubescribe.dev], resources: [gitrepoconfigs/status, watchrules/status, clusterwatchrules/status], verbs: [get, update, patch] }
- { apiGroups: [admissionregistration.k8s.io], resources: [validatingwebhookconfigurations], verbs: [get, list, watch, create, update, patch] }
`;

interface Cond { type: string; status: string; reason: string; message: string }

describe('readiness', () => {
  let cluster: PrivateCluster | undefined;
  afterAll(async () => { await cluster?.close(); });

  it('a wrong repository URL and a forbidden watch: still ready, alice still attributed, both objects say what is wrong', async () => {
    cluster = await startPrivateCluster(stackEnv(), 'ready');
    const c = cluster;
    const apply = (obj: unknown): Promise<string> => c.kubectl('admin', ['apply', '-f', '-'], typeof obj === 'string' ? obj : JSON.stringify(obj));
    await apply(RESTRICTED); // replaces the stack's "get/list/watch everything"
    for (const ns of ['team-ok', 'team-broken']) await c.kubectl('admin', ['create', 'namespace', ns]);
    const inst = await c.startInstance({ name: 'ready', namespaces: ['team-ok', 'team-broken'], resources: ['configmaps'], settings: (s) => { s.customResources = { enabled: true }; } });
    await inst.startKubescribe();
    const readyz = async (): Promise<{ status: number; synced: boolean }> => {
      const res = await fetch(inst.metricsUrl.replace(/metrics$/, 'readyz'));
      return { status: res.status, synced: ((await res.json()) as { synced: boolean }).synced };
    };
    expect(await readyz()).toEqual({ status: 200, synced: true });

    // A tenant's GitRepoConfig with a wrong URL, and a rule for Services (kubescribe may not watch them).
    await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git-creds', namespace: 'team-broken' }, stringData: { username: inst.git.username, password: inst.git.password } });
    await apply({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'GitRepoConfig', metadata: { name: 'wrong', namespace: 'team-broken' }, spec: { url: 'http://127.0.0.1:1/nowhere.git', secretRef: { name: 'git-creds' } } });
    await apply({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'WatchRule', metadata: { name: 'to-wrong', namespace: 'team-broken' }, spec: { gitRepoConfigRef: { name: 'wrong' }, rules: [{ apiGroups: [''], resources: ['configmaps'] }] } });
    await apply({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'GitRepoConfig', metadata: { name: 'good', namespace: 'team-broken' }, spec: { url: inst.git.url, secretRef: { name: 'git-creds' }, push: { intervalSeconds: 1 } } });
    await apply({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'WatchRule', metadata: { name: 'services', namespace: 'team-broken' }, spec: { gitRepoConfigRef: { name: 'good' }, baseFolder: 'services', rules: [{ apiGroups: [''], resources: ['services'] }] } });

    const condition = async (kind: string, name: string): Promise<Cond | undefined> =>
      ((JSON.parse(await c.kubectl('admin', ['get', kind, name, '-n', 'team-broken', '-o', 'json'])) as { status?: { conditions?: Cond[] } }).status?.conditions ?? []).find((x) => x.type === 'Ready');
    const repo = await eventually('the wrong URL in the GitRepoConfig\'s status', async () => { const x = await condition('gitrepoconfig', 'wrong'); return x?.reason === 'RepoUnreachable' && x; }, 60_000);
    expect(repo.status).toBe('False');
    const rule = await eventually('the forbidden watch in the WatchRule\'s status', async () => { const x = await condition('watchrule', 'services'); return x?.reason === 'AccessDenied' && x; }, 60_000);
    expect(rule.status).toBe('False');
    expect(rule.message).toMatch(/services/);
    const broken = await eventually('the pipeline says it is not synced', async () => { const r = await readyz(); return !r.synced && r; });
    expect(broken.status).toBe(200); // ...and the webhook stays ready
    expect(await (await fetch(inst.metricsUrl)).text()).toMatch(/^kubescribe_pipeline_synced 0$/m);

    // alice's change elsewhere is still committed as alice.
    await c.kubectl('alice', ['create', 'configmap', 'still-mine', '-n', 'team-ok', '--from-literal=k=v']);
    const author = await eventually('alice\'s ConfigMap in Git', async () => (await git(inst.git.repo, ['log', '--format=%an', 'main', '--', 'team-ok/core/configmaps/still-mine.yaml']).catch(() => '')).trim() || undefined);
    expect(author).toBe('alice');
    expect((await readyz()).status).toBe(200);
  });
});
