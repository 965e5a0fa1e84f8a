// Stop and start with a GitRepoConfig whose credentials are in a Secret, as a pod restart does.
// Two defects were behind it: a stopping kubescribe stopped its Secret watches before its
// destinations' last push, which then went out without credentials (HTTP 401: the commits made
// since the last push were never pushed, and a new pod whose data is an emptyDir lost their
// authors); and a starting kubescribe opened the destination before the Secret was read, so the
// first attempt failed (the GitRepoConfig reported the failure, and a failed open ends the start-up
// list's wait for the checkpoints). Here the push interval is long, so commits wait for the stop's
// push, and on the restart the API connection is slowed by a fault proxy (a busy API server: the
// Secret is read late) while the Git server answers at once. What a user checks: every change in
// the remote, each its own commit, and no failure in the GitRepoConfig's `.status` (the WatchRule
// says `Starting` until its snapshot is taken, which is true).
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Instance } from './stack/instance.ts';
import { startPrivateCluster, type PrivateCluster } from './stack/private-cluster.ts';
import { startFaultProxy, type FaultProxy } from './stack/tcp-proxy.ts';
import { apiBackend, eventually, git, kubeconfigVia, stackEnv } from './support.ts';

interface Condition { type: string; status: string; reason: string; message: string }

describe('stop and start with a GitRepoConfig whose credentials are in a Secret', () => {
  // A cluster of its own: a kubescribe with custom resources on reads every GitRepoConfig of its
  // cluster, and on the shared one it would write the other specs' repositories too.
  let cluster: PrivateCluster;
  let inst: Instance;
  const ns = 'team';
  let api: FaultProxy;
  const kubectl = (user: string, args: string[], stdin?: string): Promise<string> => cluster.kubectl(user, args, stdin);
  const path = 'core/configmaps/kept.yaml';
  const history = async (): Promise<string[]> =>
    (await git(inst.git.repo, ['log', '--reverse', '--format=%an %s', 'main', '--', `${ns}/${path}`]).catch(() => '')).split('\n').filter(Boolean).map((l) => l.split(' ').slice(0, 2).join(' '));
  const conditions = async (kind: string, name: string): Promise<Condition[]> =>
    (JSON.parse(await kubectl('admin', ['get', kind, name, '-n', ns, '-o', 'json'])) as { status?: { conditions?: Condition[] } }).status?.conditions ?? [];
  const changeCommits = async (): Promise<number> => {
    const text = await (await fetch(inst.metricsUrl)).text();
    return [...text.matchAll(/^kubescribe_commits_total\{[^}]*kind="change"[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  };
  /** Every Ready=False the GitRepoConfig shows until `done` resolves (polled every 200 ms). */
  const failuresUntil = async (done: Promise<unknown>): Promise<string[]> => {
    const seen = new Set<string>();
    let finished = false;
    void done.finally(() => { finished = true; });
    while (!finished) {
      for (const c of await conditions('gitrepoconfig', 'audit').catch(() => [])) if (c.type === 'Ready' && c.status === 'False') seen.add(`${c.reason}: ${c.message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await done;
    return [...seen];
  };

  beforeAll(async () => {
    cluster = await startPrivateCluster(stackEnv(), 'creds');
    await kubectl('admin', ['create', 'namespace', ns]);
    api = await startFaultProxy(apiBackend(cluster.info.server));
    const kubeconfig = await kubeconfigVia(await mkdtemp(join(cluster.dir, 'proxy-')), 'slow', api, cluster.info.kubeconfigs.kubescribe);
    inst = await cluster.startInstance({
      name: 'credsrestart', namespaces: [ns], resources: ['configmaps'],
      settings: (s) => {
        delete s.git; // only the GitRepoConfig's destination
        s.customResources = { enabled: true };
        (s.kubernetes as Record<string, unknown>).kubeconfig = kubeconfig;
      },
    });
    await inst.startKubescribe();
    await kubectl('admin', ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git-creds', namespace: ns }, stringData: { username: inst.git.username, password: inst.git.password } },
      // Pushed only every 10 minutes: what is committed waits for the stop's push.
      { apiVersion: 'kubescribe.dev/v1alpha1', kind: 'GitRepoConfig', metadata: { name: 'audit', namespace: ns }, spec: { url: inst.git.url, secretRef: { name: 'git-creds' }, push: { intervalSeconds: 600 } } },
      { apiVersion: 'kubescribe.dev/v1alpha1', kind: 'WatchRule', metadata: { name: 'cms', namespace: ns }, spec: { gitRepoConfigRef: { name: 'audit' }, branch: 'main', rules: [{ apiGroups: [''], resources: ['configmaps'] }] } },
    ] }));
    await eventually('the WatchRule Ready', async () => (await conditions('watchrule', 'cms')).some((c) => c.type === 'Ready' && c.status === 'True'), 60_000);
  }, 180_000);
  afterAll(async () => {
    await cluster?.close();
    await api?.close();
  });

  it('a stop pushes what was committed; a new pod opens with the Secret read and replays each change made meanwhile', async () => {
    await kubectl('alice', ['create', 'configmap', 'kept', '-n', ns, '--from-literal=v=0']);
    await eventually('the create committed locally', async () => (await changeCommits()) >= 1, 30_000);
    await inst.stopKubescribe();
    expect(await history(), 'pushed by the stop').toEqual(['alice CREATE']);

    // A new pod: its data (an emptyDir) is gone, so it clones the branch again. Meanwhile alice
    // changes the object three times (the webhook is down: failurePolicy Ignore).
    await rm(join(inst.dir, 'data'), { recursive: true, force: true });
    for (let v = 1; v <= 3; v++) await kubectl('alice', ['patch', 'configmap', 'kept', '-n', ns, '--type=merge', '-p', JSON.stringify({ data: { v: String(v) } })]);
    // Each API round trip now takes 2 × 300 ms: the Secret is read well after the Git server
    // could have answered the clone.
    api.set('slow', { delayMs: 300 });
    const restarted = (async () => {
      await inst.startKubescribe();
      await eventually('the three updates committed locally', async () => (await changeCommits()) >= 3, 90_000);
    })();
    const failures = await failuresUntil(restarted);
    api.set('pass');
    await inst.stopKubescribe();

    console.log(`[credentials-restart] ${await git(inst.git.repo, ['log', '--reverse', '--format=%an %s', 'main'])}`);
    // Replayed from the checkpoint the stop pushed: one commit a change, not one RECONCILE.
    expect((await history()).map((c) => c.split(' ')[1])).toEqual(['CREATE', 'UPDATE', 'UPDATE', 'UPDATE']);
    expect(await git(inst.git.repo, ['show', `main:${ns}/${path}`])).toMatch(/v: "3"/);
    expect(failures, 'the GitRepoConfig Ready=False while it started').toEqual([]);
  });
});
