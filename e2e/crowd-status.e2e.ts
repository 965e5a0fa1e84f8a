// Many watched types must not starve the short requests (issue 14, item 2): with 60 custom resource
// types plus a `*` rule on a control plane of its own, kubescribe's Lease renewals and its status
// writes (the GitRepoConfig's .status after every push) keep their period while the custom objects
// change. Both are measured as the cluster sees them, through watches, and printed.
import { afterAll, describe, expect, it } from 'vitest';
import { startPrivateCluster, type PrivateCluster } from './stack/private-cluster.ts';
import { eventually, stackEnv, watchObject } from './support.ts';

const worstGap = (times: number[]): number => Math.max(0, ...times.slice(1).map((t, i) => t - times[i]!));

describe('many watched types', () => {
  let cluster: PrivateCluster | undefined;
  afterAll(async () => { await cluster?.close(); });

  it('60 custom resource types plus a "*" rule: Lease renewals and status writes keep their period under load', async () => {
    cluster = await startPrivateCluster(stackEnv(), 'crowd');
    const c = cluster;
    const group = 'crowd.kubescribe.test';
    const crds = Array.from({ length: 60 }, (_, i) => ({
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `widget${i}s.${group}` },
      spec: { group, scope: 'Namespaced', names: { plural: `widget${i}s`, singular: `widget${i}`, kind: `Widget${i}`, listKind: `Widget${i}List` }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] },
    }));
    await c.kubectl('admin', ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: crds }));
    await c.kubectl('admin', ['wait', '--for=condition=Established', '--timeout=120s', ...crds.map((x) => `crd/${x.metadata.name}`)]);
    const ns = 'crowd';
    await c.kubectl('admin', ['create', 'namespace', ns]);
    await c.kubectl('admin', ['label', 'namespace', ns, 'crowd=yes']);
    const timing = { leaseDurationMs: 6000, renewDeadlineMs: 4000, renewIntervalMs: 1000 };
    const inst = await c.startInstance({ name: 'crowd', namespaces: ['elsewhere'], resources: ['configmaps'], settings: (s) => {
      s.customResources = { enabled: true };
      s.leaderElection = { enabled: true, leaseName: 'crowd', namespace: 'default', identity: 'crowd-0', ...timing };
    } });
    const admin = c.info.kubeconfigs.admin!;
    const lease = watchObject(admin, '/apis/coordination.k8s.io/v1/namespaces/default/leases', 'crowd', (o) => (o.spec as { renewTime?: string } | undefined)?.renewTime);
    const status = watchObject(admin, `/apis/kubescribe.dev/v1alpha1/namespaces/${ns}/gitrepoconfigs`, 'audit', (o) => (o.status as { lastPushTime?: string } | undefined)?.lastPushTime);
    try {
      await inst.startKubescribe();
      const apply = (obj: unknown): Promise<string> => c.kubectl('admin', ['apply', '-f', '-'], JSON.stringify(obj));
      await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git-creds', namespace: ns }, stringData: { username: inst.git.username, password: inst.git.password } });
      await apply({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'GitRepoConfig', metadata: { name: 'audit', namespace: ns }, spec: { url: inst.git.url, secretRef: { name: 'git-creds' }, push: { intervalSeconds: 1 } } });
      await apply({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'ClusterWatchRule', metadata: { name: 'everything' }, spec: { gitRepoConfigRef: { name: 'audit', namespace: ns }, scope: 'Namespaced', namespaceSelector: { matchLabels: { crowd: 'yes' } }, rules: [{ apiGroups: ['*'], resources: ['*'] }] } });
      const readyz = async (): Promise<{ synced?: boolean; watches?: number }> => (await fetch(inst.metricsUrl.replace('/metrics', '/readyz'))).json() as Promise<{ synced?: boolean; watches?: number }>;
      const types = await eventually('every type watched and listed', async () => { const r = await readyz(); return r.synced && (r.watches ?? 0) >= 60 ? r.watches : undefined; }, 180_000, 250);

      // Load for 20 s: every second, 60 custom objects (one of each kind) are created or changed.
      // Status writes are counted from the moment the first round is in the cluster: kubectl's own
      // start (discovery of 60 new kinds) took up to 4 s of the gap on a busy machine, and is not
      // kubescribe's to keep.
      const from = Date.now();
      let firstApplied = 0;
      let round = 0;
      while (Date.now() - from < 20_000) {
        const items = crds.map((_, i) => ({ apiVersion: `${group}/v1`, kind: `Widget${i}`, metadata: { name: `w${round % 5}`, namespace: ns }, spec: { round } }));
        await c.kubectl('admin', ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
        firstApplied ||= Date.now();
        round++;
      }
      const to = Date.now();
      await new Promise((r) => setTimeout(r, 3000));
      const leaseTimes = lease.seen.filter((s) => s.at >= from && s.at <= to).map((s) => Date.parse(s.value));
      const statusTimes = status.seen.filter((s) => s.at >= firstApplied && s.at <= to).map((s) => s.at);
      const worstLease = worstGap(leaseTimes);
      const worstStatus = worstGap([firstApplied, ...statusTimes, to]);
      process.stdout.write(`[crowd-status] ${types} watched types; ${round} load rounds (${round * 60} changes) in ${to - from} ms (the first applied after ${firstApplied - from} ms); lease renewals ${leaseTimes.length}, worst gap ${worstLease} ms (retry ${timing.renewIntervalMs} ms); status writes ${statusTimes.length}, worst gap ${worstStatus} ms (push interval 1000 ms)\n`);
      expect(types).toBeGreaterThanOrEqual(60);
      expect(leaseTimes.length).toBeGreaterThan(10);
      expect(worstLease).toBeLessThan(timing.renewDeadlineMs);
      expect(statusTimes.length).toBeGreaterThan(5);
      expect(worstStatus).toBeLessThan(timing.renewDeadlineMs + 1000);
    } finally {
      await lease.stop();
      await status.stop();
    }
  }, 300_000);
});
