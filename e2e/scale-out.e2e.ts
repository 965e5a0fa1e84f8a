// Scale out past one leader (issue 19, target 4; leaderElection.perDestination): 3 replicas share
// 6 destinations (6 branches, each with its GitRepoConfig and WatchRule), one Lease per
// destination. Asserted as a user checks it: the Leases' holders, each branch's commits and
// authors, and after a kill -9 of a writer under load, every change once with its author.
// On a control plane of its own: the instance acts on custom resources, which the shared stack's
// kubescribe would act on too.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Instance, ReplicaControls } from './stack/instance.ts';
import { startPrivateCluster, type PrivateCluster } from './stack/private-cluster.ts';
import { eventually, git, parallel, stackEnv } from './support.ts';

type Inst = Instance & ReplicaControls;
const N = 6;
const namespaces = Array.from({ length: N }, (_, i) => `shard-${i}`);
const branch = (i: number): string => `b${i}`;

describe('replicas sharing the writing, one Lease per destination', () => {
  let cluster: PrivateCluster;
  let inst: Inst;
  const kubectl = (user: string, args: string[], stdin?: string): Promise<string> => cluster.kubectl(user, args, stdin);
  const commits = async (i: number, path?: string): Promise<Array<{ sha: string; author: string; subject: string }>> => {
    const out = await git(inst.git.repo, ['log', '--reverse', '--format=%H%x00%an%x00%s', branch(i), ...(path ? ['--', path] : [])]).catch(() => '');
    return out.split('\n').filter(Boolean).map((l) => { const [sha = '', author = '', subject = ''] = l.split('\0'); return { sha, author, subject }; });
  };
  /** destination → holder, from the destination Leases (annotation kubescribe.dev/destination). */
  const holders = async (): Promise<Map<string, string>> => {
    const list = JSON.parse(await kubectl('admin', ['get', 'leases', '-n', 'kubescribe', '-o', 'json'])) as { items: Array<{ metadata: { annotations?: Record<string, string> }; spec: { holderIdentity?: string } }> };
    const out = new Map<string, string>();
    for (const l of list.items) {
      const d = l.metadata.annotations?.['kubescribe.dev/destination'];
      if (d && l.spec.holderIdentity) out.set(d, l.spec.holderIdentity);
    }
    return out;
  };
  const destinationOf = (i: number): string => `${namespaces[i]}/audit@${branch(i)}`;

  beforeAll(async () => {
    cluster = await startPrivateCluster(stackEnv(), 'scale');
    inst = await cluster.startInstance({
      name: 'scale', namespaces, resources: ['configmaps'], replicas: 3,
      settings: (s) => {
        delete s.git; // only the custom resources' six destinations
        s.customResources = { enabled: true };
        (s.leaderElection as Record<string, unknown>).perDestination = true;
      },
    }) as Inst;
    await inst.startKubescribe();
    for (const [i, ns] of namespaces.entries()) {
      await kubectl('admin', ['create', 'namespace', ns]);
      const objs = [
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git-creds', namespace: ns }, stringData: { username: inst.git.username, password: inst.git.password } },
        { apiVersion: 'kubescribe.dev/v1alpha1', kind: 'GitRepoConfig', metadata: { name: 'audit', namespace: ns }, spec: { url: inst.git.url, secretRef: { name: 'git-creds' }, push: { intervalSeconds: 1 } } },
        { apiVersion: 'kubescribe.dev/v1alpha1', kind: 'WatchRule', metadata: { name: 'all', namespace: ns }, spec: { gitRepoConfigRef: { name: 'audit' }, branch: branch(i), rules: [{ apiGroups: [''], resources: ['configmaps'] }] } },
      ];
      await kubectl('admin', ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs }));
    }
    // Every destination held, each by a writer whose watch has listed (its branch has a commit).
    await eventually('six destinations held and written', async () => (await holders()).size === N && (await Promise.all(namespaces.map((_, i) => commits(i)))).every((l) => l.length > 0), 90_000, 500);
  }, 240_000);
  afterAll(async () => { await cluster?.close(); });

  it('spreads the six destinations over all three replicas; alice\'s changes are committed once each, by her', async () => {
    const h = await holders();
    console.log(`destination Leases: ${[...h].map(([d, id]) => `${d} → ${id}`).join(', ')}`);
    expect(new Set(h.values())).toEqual(new Set(['scale-0', 'scale-1', 'scale-2']));
    const names = Array.from({ length: 4 }, (_, j) => `cm-${j}`);
    const tasks = namespaces.flatMap((ns) => names.map((n) => async () => {
      await kubectl('alice', ['create', 'configmap', n, '-n', ns, '--from-literal=v=1']);
      await kubectl('alice', ['patch', 'configmap', n, '-n', ns, '--type=merge', '-p', '{"data":{"v":"2"}}']);
    }));
    await parallel(6, tasks);
    for (const [i, ns] of namespaces.entries()) {
      for (const n of names) {
        const log = await eventually(`${ns}/${n} on ${branch(i)}`, async () => {
          const l = await commits(i, `${ns}/core/configmaps/${n}.yaml`);
          return l.length >= 2 ? l : undefined;
        }, 60_000);
        expect(log.map((c) => `${c.author} ${c.subject.split(' ')[0]}`)).toEqual(['alice CREATE', 'alice UPDATE']);
      }
    }
    // Each replica committed to the branches it holds.
    const perReplica = await Promise.all(inst.replicas.map(async (r) => {
      const text = await (await fetch(r.metricsUrl)).text();
      return text.split('\n').filter((l) => l.startsWith('kubescribe_commits_total')).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    }));
    console.log(`commits per replica: ${perReplica.join(', ')}`);
    for (const n of perReplica) expect(n).toBeGreaterThan(0);
    // What the API server carries: each replica's controllers (its catalogue and the two
    // destinations it writes) share one watch of each custom resource kind (and of the namespaces),
    // so 3 replicas hold 3 watches of each, not 9. The controller-manager's garbage collector
    // watches every kind too: 4 in all (10 when each controller had its own).
    const watchers = async (resource: string): Promise<number> => (await kubectl('admin', ['get', '--raw', '/metrics'])).split('\n')
      .filter((l) => l.startsWith('apiserver_longrunning_requests{') && l.includes('verb="WATCH"') && l.includes(`resource="${resource}"`))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    for (const resource of ['gitrepoconfigs', 'watchrules', 'clusterwatchrules']) {
      await eventually(`at most 4 watches of ${resource}`, async () => (await watchers(resource)) <= 4, 15_000, 250)
        .catch(async () => expect(await watchers(resource), `watches of ${resource} on the API server`).toBeLessThanOrEqual(4));
    }
    console.log(`watches on the API server: ${(await Promise.all(['watchrules', 'namespaces', 'configmaps', 'secrets'].map(async (r) => `${r} ${await watchers(r)}`))).join(', ')}`);
  });

  it('moves a killed writer\'s destinations under load: 0 lost, 0 duplicated, no unknown author', async () => {
    const before = await holders();
    // The writer of the most destinations.
    const count = (i: number): number => [...before.values()].filter((id) => id === `scale-${i}`).length;
    const victim = [...inst.replicas].sort((a, b) => count(b.index) - count(a.index))[0]!;
    const moved = [...before].filter(([, id]) => id === `scale-${victim.index}`).map(([d]) => d);
    const names = ['lo-0', 'lo-1'];
    for (const ns of namespaces) await kubectl('admin', ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: names.map((name) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { n: '0' } })) }));
    const rounds = 6;
    let made = 0;
    const load = (async () => {
      for (let round = 1; round <= rounds; round++) {
        await parallel(6, namespaces.flatMap((ns) => names.map((name) => async () => {
          await kubectl('alice', ['patch', 'configmap', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ data: { n: String(round) } })]);
          made++;
        })));
      }
    })();
    await eventually('some load done', async () => made >= 24, 60_000, 50);
    victim.kill('SIGKILL');
    try {
      await eventually('the killed replica\'s destinations taken over', async () => {
        const h = await holders();
        return moved.every((d) => h.get(d) && h.get(d) !== `scale-${victim.index}`);
      }, 30_000, 200);
      await load;
    } finally {
      await load.catch(() => undefined);
    }
    const after = await holders();
    console.log(`killed scale-${victim.index}; its destinations now: ${moved.map((d) => `${d} → ${after.get(d)}`).join(', ')}`);
    for (const [i, ns] of namespaces.entries()) {
      for (const name of names) {
        const path = `${ns}/core/configmaps/${name}.yaml`;
        await eventually(`${path} at round ${rounds}`, async () => new RegExp(`^ {2}"?n"?: "${rounds}"$`, 'm').test(await git(inst.git.repo, ['show', `${branch(i)}:${path}`]).catch(() => '')), 60_000);
        const log = (await commits(i, path)).filter((c) => c.subject.startsWith('UPDATE'));
        const contents = await Promise.all(log.map((c) => git(inst.git.repo, ['show', `${c.sha}:${path}`])));
        // Every round once, in order, by alice: nothing lost (no RECONCILE folding), nothing doubled.
        expect(contents.map((t) => /^ {2}"?n"?: "(\d+)"$/m.exec(t)?.[1]), `${destinationOf(i)} ${name}`).toEqual(Array.from({ length: rounds }, (_, r) => String(r + 1)));
        expect(log.map((c) => c.author), `${destinationOf(i)} ${name}`).toEqual(Array(rounds).fill('alice'));
      }
    }
    await victim.start(); // back: it gets its share again by handover
    await eventually('the restarted replica holds destinations again', async () => [...(await holders()).values()].includes(`scale-${victim.index}`), 60_000, 500);
  });

  it('a rule that widens a writer\'s watch to every namespace and back: each change in between once, by alice', async () => {
    // A destination's watch runs in the one namespace its WatchRule is bound to. A ClusterWatchRule
    // into the same branch makes it cluster-wide, and deleting it makes it namespaced again: each
    // switch starts a new watch, which must take over where the old one stopped. The new rule
    // writes into a folder of its own, which has no checkpoint to replay from yet.
    const ns = namespaces[0]!;
    const path = `${ns}/core/configmaps/switch.yaml`;
    const watchSwitches = (): number => inst.replicas.reduce((n, r) => n + (readFileSync(r.log, 'utf8').match(/watching in other namespaces/g)?.length ?? 0), 0);
    const switchesBefore = watchSwitches();
    await kubectl('admin', ['create', 'configmap', 'switch', '-n', ns, '--from-literal=n=0']);
    await kubectl('admin', ['create', 'configmap', 'beside', '-n', namespaces[1]!, '--from-literal=n=0']);
    await eventually(`${path} on ${branch(0)}`, async () => (await commits(0, path)).length > 0, 60_000);
    const rounds = 30;
    let made = 0;
    const load = (async () => {
      for (let round = 1; round <= rounds; round++) {
        await kubectl('alice', ['patch', 'configmap', 'switch', '-n', ns, '--type=merge', '-p', JSON.stringify({ data: { n: String(round) } })]);
        made = round;
      }
    })();
    const wide = {
      apiVersion: 'kubescribe.dev/v1alpha1', kind: 'ClusterWatchRule', metadata: { name: 'beside' },
      spec: { gitRepoConfigRef: { name: 'audit', namespace: ns }, branch: branch(0), baseFolder: 'beside', scope: 'Namespaced', namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespaces[1]! } }, rules: [{ apiGroups: [''], resources: ['configmaps'] }] },
    };
    try {
      await eventually('some rounds done', async () => made >= 5, 60_000, 50);
      await kubectl('admin', ['apply', '-f', '-'], JSON.stringify(wide));
      // The other namespace's ConfigMap reaches the branch: the watch is cluster-wide now.
      await eventually(`${namespaces[1]}'s ConfigMap on ${branch(0)}`, async () => (await git(inst.git.repo, ['ls-tree', '-r', '--name-only', branch(0)])).includes(`beside/${namespaces[1]}/core/configmaps/beside.yaml`), 60_000, 200);
      await eventually('more rounds done', async () => made >= 15, 60_000, 50);
      await kubectl('admin', ['delete', 'clusterwatchrule', 'beside']);
      await load;
    } finally {
      await load.catch(() => undefined);
    }
    await eventually(`${path} at round ${rounds}`, async () => new RegExp(`^ {2}"?n"?: "${rounds}"$`, 'm').test(await git(inst.git.repo, ['show', `${branch(0)}:${path}`]).catch(() => '')), 60_000);
    const log = (await commits(0, path)).filter((c) => c.subject.startsWith('UPDATE'));
    const contents = await Promise.all(log.map((c) => git(inst.git.repo, ['show', `${c.sha}:${path}`])));
    expect(contents.map((t) => /^ {2}"?n"?: "(\d+)"$/m.exec(t)?.[1])).toEqual(Array.from({ length: rounds }, (_, r) => String(r + 1)));
    expect(log.map((c) => c.author)).toEqual(Array(rounds).fill('alice'));
    // Both switches happened (to all namespaces, and back), in the writer of that destination.
    await eventually('the watch back in its namespace', async () => watchSwitches() >= switchesBefore + 2, 30_000, 200);
    console.log(`[scale-out] ${watchSwitches() - switchesBefore} watch switches during ${rounds} changes by alice`);
  });
});
