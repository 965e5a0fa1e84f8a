// The Helm chart installed for real on the local node (e2e/stack/node.ts), with the image built
// from the Dockerfile by buildah (e2e/node/kubescribe-image.ts), told as one release's life:
// `helm install` with self-signed TLS → pods Ready (the kubelet enforcing runAsNonRoot and the
// read-only root) → the apiserver calls the webhook through the Service → alice, bob and carol
// committed with their names; `helm upgrade` to 3 replicas under load keeps the CA, the hash key and
// the peer secret and rolls the pods without losing a change; every replica serves the webhook, one
// writes; the leader's pod deleted under load → another leads, 0 lost, 0 duplicated (during the
// two handovers a change may still say `unknown`, never a wrong name: counted, a known gap); a burst of
// 10,000 ConfigMaps committed with the leader's pod under its memory limit (its cgroup's peak); the
// PodDisruptionBudget refuses the eviction that would leave no replica; `helm uninstall` removes the
// webhook configuration and leaves the repository intact. Last, a release whose repository is
// unreachable is still Ready and keeps its Service endpoints. Each release records one namespace of
// its own into a repository of its own on the stack's Git server.
// Needs the node (CI=true as root requires it; elsewhere skipped when the stack has none).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createBareRepo } from './stack/git-server.ts';
import { NODE } from './stack/node-network.ts';
import { repoRoot } from './stack/stack.ts';
import { eventually, freshNamespace, git, helm, kubectl, stackEnv } from './support.ts';

const env = stackEnv();
const chartDir = join(repoRoot, 'charts', 'kubescribe');

interface Pod { metadata: { name: string; deletionTimestamp?: string }; status: { phase?: string; podIP?: string; conditions?: Array<{ type: string; status: string }>; containerStatuses?: Array<{ ready: boolean; restartCount: number }> } }

describe.skipIf(!env.node.ready)('the Helm chart on the node', () => {
  let tmp: string;
  let releaseNs: string;
  let shop: string;
  let repoName: string;
  const release = 'scribe';
  const fullname = `${release}-kubescribe`;

  const log = async (): Promise<Array<{ author: string; subject: string }>> => {
    const out = await git(join(env.git.root, `${repoName}.git`), ['log', '--reverse', '--format=%an%x00%s', 'main']).catch(() => '');
    return out.split('\n').filter(Boolean).map((l) => { const [author = '', subject = ''] = l.split('\0'); return { author, subject }; });
  };
  const pods = async (ns = releaseNs): Promise<Pod[]> => (JSON.parse(await kubectl('admin', ['get', 'pods', '-n', ns, '-l', 'app.kubernetes.io/name=kubescribe', '-o', 'json'])) as { items: Pod[] }).items;
  const running = async (): Promise<Pod[]> => (await pods()).filter((p) => !p.metadata.deletionTimestamp && p.status.phase === 'Running');
  const values = async (extra: Record<string, unknown> = {}): Promise<string> => {
    const [repository, tag] = (env.node.image ?? '').split(':');
    const file = join(tmp, `values-${randomBytes(3).toString('hex')}.yaml`);
    await writeFile(file, stringify({
      image: { repository, tag, pullPolicy: 'Never' },
      git: { url: (env.git.clusterUrl ?? '').replace(/audit\.git$/, `${repoName}.git`), credentials: { username: env.git.username, password: env.git.password } },
      watch: { namespaces: { include: [shop] } },
      customResources: { enabled: false },
      ...extra,
    }));
    return file;
  };
  /** The replica's own figures, scraped from its pod on the bridge. */
  const scrape = async (pod: Pod): Promise<{ reviews: number; leader: number; commits: number; pushFailures: number; misses: number; pushedBytes: number }> => {
    const text = await (await fetch(`http://${pod.status.podIP}:8080/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const sum = (name: string): number => text.split('\n').filter((l) => l.startsWith(name)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    return {
      reviews: sum('kubescribe_webhook_requests_total{outcome="recorded"}'), leader: sum('kubescribe_leader '), commits: sum('kubescribe_commits_total{'),
      pushFailures: sum('kubescribe_peer_pushes_total{result="failed"}'), misses: sum('kubescribe_enrichment_total{result="miss"}'),
      pushedBytes: sum('kubescribe_pushed_bytes_total{'),
    };
  };
  const holder = async (): Promise<string> => (JSON.parse(await kubectl('admin', ['get', 'lease', fullname, '-n', releaseNs, '-o', 'json'])) as { spec: { holderIdentity?: string } }).spec.holderIdentity ?? '';

  /** alice creates ConfigMaps one after another until stopped (at most `max`); the names the cluster accepted. */
  const loads = new Set<() => Promise<string[]>>();
  const startLoad = (prefix: string, max = 300): { stop: () => Promise<string[]> } => {
    let on = true;
    const made: string[] = [];
    const loop = (async () => {
      for (let i = 0; on && i < max; i++) {
        await kubectl('alice', ['create', 'configmap', `${prefix}-${i}`, '-n', shop, `--from-literal=i=${i}`]);
        made.push(`${prefix}-${i}`);
      }
    })();
    const stop = async (): Promise<string[]> => { on = false; loads.delete(stop); await loop; return made; };
    loads.add(stop);
    return { stop };
  };
  /**
   * Every name committed exactly once, created by alice. During a leader handover (`handover`)
   * a change may still say `unknown` — never another name: a known gap of issue 15 (a few per
   * handover on this machine), counted and printed rather than hidden.
   */
  const committedOnce = async (names: string[], handover?: string): Promise<void> => {
    const creates = (l: Array<{ author: string; subject: string }>, name: string) => l.filter((c) => c.subject === `CREATE v1 configmaps ${shop}/${name}`);
    const l = await eventually('every change of the load committed', async () => {
      const all = await log();
      return names.every((n) => creates(all, n).length > 0) ? all : undefined;
    }, 90_000, 500);
    expect(names.filter((n) => creates(l, n).length !== 1)).toEqual([]);
    const others = names.flatMap((n) => creates(l, n)).filter((c) => c.author !== 'alice');
    if (!handover) {
      expect(others).toEqual([]);
      return;
    }
    expect(others.filter((c) => c.author !== 'unknown')).toEqual([]);
    process.stderr.write(`[chart-node.e2e] ${handover}: ${names.length} changes, ${others.length} unknown\n`);
  };

  /** Every replica's log, followed into the stack's log folder (a deleted pod's log goes with it). */
  const followers = new Map<string, ChildProcess>();
  const followLogs = async (): Promise<void> => {
    for (const p of await pods()) {
      if (followers.has(p.metadata.name) || p.status.phase !== 'Running') continue;
      const child = spawn(env.bin.kubectl, ['--kubeconfig', env.kubeconfigs.admin, 'logs', '-f', '-n', releaseNs, p.metadata.name], { stdio: ['ignore', 'pipe', 'ignore'] });
      child.stdout?.pipe(createWriteStream(join(env.logs, `chart-node-${p.metadata.name}.log`)));
      followers.set(p.metadata.name, child);
    }
  };

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'kubescribe-chart-node-'));
    releaseNs = await freshNamespace('ks-release');
    shop = await freshNamespace('own-shop'); // the shared stack's kubescribe leaves own-* alone
    repoName = `chart-${randomBytes(4).toString('hex')}`;
    await createBareRepo(env.git.root, repoName, { defaultBranch: 'main' });
  });

  beforeEach(async () => {
    if (releaseNs) await followLogs().catch(() => undefined);
  });

  afterEach(async () => {
    // A failed step's load stops with it.
    await Promise.all([...loads].map((stop) => stop().catch(() => [])));
  });

  afterAll(async () => {
    for (const child of followers.values()) child.kill();
    await helm(['uninstall', release, '-n', releaseNs, '--wait']).catch(() => undefined);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('installs with helm, serves the webhook through the Service and commits alice, bob and carol', async () => {
    expect(env.node.image).toBe('kubescribe:local');
    const t0 = Date.now();
    await helm(['install', release, chartDir, '-n', releaseNs, '-f', await values(), '--wait', '--timeout', '3m']);
    const readyMs = Date.now() - t0;
    await followLogs();
    const [pod] = await pods();
    expect(pod?.status.containerStatuses?.[0]).toMatchObject({ ready: true, restartCount: 0 });
    // Started by the kubelet as non-root on a read-only root (it refuses runAsNonRoot for an image
    // whose user is root), so the chart's securityContext and the image agree.
    const spec = (JSON.parse(await kubectl('admin', ['get', 'pod', pod!.metadata.name, '-n', releaseNs, '-o', 'json'])) as { spec: { securityContext: Record<string, unknown>; containers: Array<{ securityContext: Record<string, unknown> }> } }).spec;
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(spec.containers[0]!.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });

    // The webhook is registered by Service, and that Service's endpoints are the ready pod.
    const vwcs = JSON.parse(await kubectl('admin', ['get', 'validatingwebhookconfigurations', '-l', `app.kubernetes.io/instance=${release}`, '-o', 'json'])) as { items: Array<{ metadata: { name: string }; webhooks: Array<{ clientConfig: { service?: { name: string; namespace: string }; url?: string } }> }> };
    expect(vwcs.items).toHaveLength(1);
    const svc = vwcs.items[0]!.webhooks[0]!.clientConfig.service!;
    expect(svc.namespace).toBe(releaseNs);
    expect(await readyEndpoints(releaseNs, svc.name)).toEqual([pod?.status.podIP]);

    const t1 = Date.now();
    await kubectl('alice', ['create', 'configmap', 'settings', '-n', shop, '--from-literal=color=blue']);
    await eventually("alice's commit", async () => (await log()).some((c) => c.author === 'alice'), 60_000, 250);
    const aliceMs = Date.now() - t1;
    await kubectl('bob', ['patch', 'configmap', 'settings', '-n', shop, '--type=merge', '-p', '{"data":{"color":"green"}}']);
    await kubectl('carol', ['delete', 'configmap', 'settings', '-n', shop]);
    const story = await eventually('the story committed', async () => {
      const l = (await log()).filter((c) => c.subject.endsWith(`configmaps ${shop}/settings`));
      return l.length >= 3 ? l : undefined;
    }, 60_000, 250);
    expect(story.map((c) => [c.author, c.subject.split(' ')[0]])).toEqual([['alice', 'CREATE'], ['bob', 'UPDATE'], ['carol', 'DELETE']]);
    process.stderr.write(`[chart-node.e2e] helm install → Ready ${readyMs} ms; alice's change → her commit ${aliceMs} ms\n`);
  });

  it('helm upgrade to 3 replicas keeps the CA, the hash key and the peer secret and rolls the pods without losing a change or naming a wrong author', async () => {
    const secretData = async (name: string): Promise<unknown> => (JSON.parse(await kubectl('admin', ['get', 'secret', name, '-n', releaseNs, '-o', 'json'])) as { data: unknown }).data;
    const caBundle = async (): Promise<string> => (JSON.parse(await kubectl('admin', ['get', 'validatingwebhookconfigurations', '-l', `app.kubernetes.io/instance=${release}`, '-o', 'json'])) as { items: Array<{ webhooks: Array<{ clientConfig: { caBundle: string } }> }> }).items[0]!.webhooks[0]!.clientConfig.caBundle;
    const before = { ca: await caBundle(), hashKey: await secretData(`${fullname}-hash-key`), peer: await secretData(`${fullname}-peer`), pods: (await pods()).map((p) => p.metadata.name) };
    expect(before.ca).toBeTruthy();

    const load = startLoad('roll');
    // A changed setting rolls the pods (maxSurge 1, maxUnavailable 0).
    await helm(['upgrade', release, chartDir, '-n', releaseNs, '-f', await values({ replicaCount: 3, webhook: { maxRequestsPerConnection: 20 } }), '--set', 'git.pushIntervalMs=1500', '--wait', '--timeout', '3m']);
    await eventually('the old pods to be gone', async () => (await pods()).every((p) => !before.pods.includes(p.metadata.name)), 60_000, 500);
    const made = await load.stop();
    expect(made.length).toBeGreaterThan(5);
    await followLogs();

    expect(await caBundle()).toBe(before.ca);
    expect(await secretData(`${fullname}-hash-key`)).toEqual(before.hashKey);
    expect(await secretData(`${fullname}-peer`)).toEqual(before.peer);
    expect((await running()).filter((p) => p.status.containerStatuses?.[0]?.ready)).toHaveLength(3);
    await committedOnce(made, 'roll');
  });

  it('every replica serves the webhook; one, the Lease holder, writes', async () => {
    const now = await running();
    expect(now).toHaveLength(3);
    const leaderName = await eventually('a leader', async () => (await holder()) || undefined, 30_000, 250);
    const first = await Promise.all(now.map(scrape));
    // Three writers at once: the apiserver opens several connections, each closed after 20 reviews
    // (webhook.maxRequestsPerConnection), and picks a replica for every new one.
    const spread = ['a', 'b', 'c'].map((x) => startLoad(`spread-${x}`, 200));
    await eventually('reviews answered by every replica', async () => {
      const figures = await Promise.all(now.map(scrape));
      return figures.every((f, i) => f.reviews > first[i]!.reviews) || undefined;
    }, 60_000, 500);
    const made = (await Promise.all(spread.map((l) => l.stop()))).flat();
    await committedOnce(made);
    const after = await Promise.all(now.map(scrape));
    expect(now.filter((_, i) => after[i]!.leader === 1).map((p) => p.metadata.name)).toEqual([leaderName]);
    // Only the leader's commit counter moved during the load.
    expect(now.filter((_, i) => after[i]!.commits > first[i]!.commits).map((p) => p.metadata.name)).toEqual([leaderName]);
    process.stderr.write(`[chart-node.e2e] reviews per replica during ${made.length} creates: ${after.map((f, i) => f.reviews - first[i]!.reviews).join(', ')}\n`);
  });

  it("the leader's pod deleted under load: another replica leads, 0 lost, 0 duplicated, no wrong author", async () => {
    const old = await holder();
    expect(old).toBeTruthy();
    const load = startLoad('failover');
    await eventually('some load first', async () => (await log()).some((c) => c.subject.startsWith(`CREATE v1 configmaps ${shop}/failover-`)), 30_000, 250);
    await kubectl('admin', ['delete', 'pod', old, '-n', releaseNs, '--wait=false']);
    const next = await eventually('another leader', async () => {
      const h = await holder();
      return h && h !== old ? h : undefined;
    }, 60_000, 250);
    expect((await running()).map((p) => p.metadata.name)).toContain(next);
    await eventually('the new leader to commit', async () => {
      const l = await log();
      return l.length > 0 && (await scrape((await running()).find((p) => p.metadata.name === next)!)).commits > 0;
    }, 60_000, 500);
    const made = await load.stop();
    await committedOnce(made, 'failover');
  });

  it("a burst of 10,000 ConfigMaps: all committed as alice's, the leader's pod stays under its memory limit", async () => {
    const leaderName = await holder();
    expect((await running()).map((p) => p.metadata.name)).toContain(leaderName);
    const uid = (JSON.parse(await kubectl('admin', ['get', 'pod', leaderName, '-n', releaseNs, '-o', 'json'])) as { metadata: { uid: string } }).metadata.uid;
    // The pod's memory cgroup (cgroup v1, the kubelet's cgroupfs driver): under its QoS class.
    const kubepods = join('/sys/fs/cgroup/memory', NODE.cgroupRoot, 'kubepods');
    const cgroup = [join(kubepods, 'burstable'), kubepods, join(kubepods, 'besteffort')].map((d) => join(d, `pod${uid}`)).find((d) => existsSync(d));
    if (!cgroup) throw new Error(`no memory cgroup for pod ${uid} under ${kubepods}`);
    const bytes = async (file: string): Promise<number> => Number((await readFile(join(cgroup, file), 'utf8')).trim());
    const limit = await bytes('memory.limit_in_bytes');
    const leaderPod = (): Promise<Pod> => running().then((ps) => ps.find((p) => p.metadata.name === leaderName)!);
    const pushedBefore = (await scrape(await leaderPod())).pushedBytes;
    const countBefore = (await log()).length;
    const t0 = Date.now();
    // The performance issue's burst (bench/burst-memory.ts runs it outside a pod): alice creates 10 Lists of 1,000.
    const lists = 10;
    for (let b = 0; b < lists; b++) {
      const items = Array.from({ length: 1000 }, (_, i) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `burst-${b}-${i}`, namespace: shop }, data: { i: String(i), b: String(b) } }));
      await kubectl('alice', ['create', '-f', '-', '-o', 'name'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
      process.stderr.write(`[chart-node.e2e] burst: ${(b + 1) * 1000} created after ${Date.now() - t0} ms, ${(await log()).length - countBefore} committed\n`);
    }
    const createdMs = Date.now() - t0;
    await eventually('all 10,000 committed', async () => (await log()).length >= countBefore + lists * 1000 || undefined, 300_000, 1000);
    const drainMs = Date.now() - t0 - createdMs;
    const peak = await bytes('memory.max_usage_in_bytes');
    // What a commit costs on the wire. A folder of 10,000 is ~0.4 MB whole: a push that sends it
    // whole (3 a push while thin pushes capped their chains one short, 3.3 KB a commit) shows here.
    const perCommit = ((await scrape(await leaderPod())).pushedBytes - pushedBefore) / (lists * 1000);
    expect(perCommit).toBeGreaterThan(0);
    expect(perCommit).toBeLessThan(2048);
    const after = (await running()).find((p) => p.metadata.name === leaderName);
    expect(after?.status.containerStatuses?.[0]?.restartCount).toBe(0);
    expect(peak).toBeLessThan(limit);
    const figures = await Promise.all((await running()).map(async (p) => ({ pod: p.metadata.name, ...(await scrape(p)) })));
    process.stderr.write(`[chart-node.e2e] after the burst: ${JSON.stringify(figures)}\n`);
    const burstCommits = (await log()).filter((c) => c.subject.startsWith(`CREATE v1 configmaps ${shop}/burst-`));
    expect(burstCommits).toHaveLength(lists * 1000);
    expect(burstCommits.filter((c) => c.author !== 'alice')).toEqual([]);
    process.stderr.write(`[chart-node.e2e] burst: ${lists * 1000} created in ${createdMs} ms, committed ${drainMs} ms after the last create; leader pod peak memory ${(peak / 2 ** 20).toFixed(0)} MiB of a ${(limit / 2 ** 20).toFixed(0)} MiB limit; ${perCommit.toFixed(0)} bytes pushed a commit\n`);
  }, 600_000);

  it('the PodDisruptionBudget refuses the eviction that would leave no replica', async () => {
    await eventually('3 ready replicas', async () => (await running()).filter((p) => p.status.containerStatuses?.[0]?.ready).length === 3 || undefined, 60_000, 500);
    await eventually('the budget to allow 2 disruptions', async () => (JSON.parse(await kubectl('admin', ['get', 'pdb', fullname, '-n', releaseNs, '-o', 'json'])) as { status: { disruptionsAllowed?: number } }).status.disruptionsAllowed === 2 || undefined, 30_000, 250);
    const names = (await running()).map((p) => p.metadata.name);
    const evict = async (name: string): Promise<string> => {
      const eviction = JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: releaseNs } });
      try {
        await kubectl('admin', ['create', '--raw', `/api/v1/namespaces/${releaseNs}/pods/${name}/eviction`, '-f', '-'], eviction);
        return 'evicted';
      } catch (err) {
        return String((err as Error).message);
      }
    };
    // One after another, faster than a replacement gets ready: the third would leave none.
    const results: string[] = [];
    for (const name of names) results.push(await evict(name));
    expect(results.slice(0, 2)).toEqual(['evicted', 'evicted']);
    expect(results[2]).toMatch(/disruption budget|TooManyRequests|429/i);
    expect((await pods()).map((p) => p.metadata.name)).toContain(names[2]);
    // The one left still answers: a change made now is still alice's.
    await kubectl('alice', ['create', 'configmap', 'after-eviction', '-n', shop]);
    await committedOnce(['after-eviction']);
  });

  it('helm uninstall removes the webhook configuration and leaves the repository intact', async () => {
    const before = await eventually('the load committed', async () => {
      const l = await log();
      return l.length > 0 ? l : undefined;
    });
    await helm(['uninstall', release, '-n', releaseNs, '--wait']);
    const left = await kubectl('admin', ['get', 'validatingwebhookconfigurations', '-l', `app.kubernetes.io/instance=${release}`, '-o', 'name']);
    expect(left.trim()).toBe('');
    await eventually('the pods to be gone', async () => (await pods()).length === 0, 60_000, 500);
    // A change now reaches no dead webhook (the apiserver would wait its timeout) and is recorded by no one.
    const t0 = Date.now();
    await kubectl('alice', ['create', 'configmap', 'after', '-n', shop]);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await log()).toEqual(before);
  });

  it('a release whose repository is unreachable is still Ready and keeps its Service endpoints', async () => {
    const ns = await freshNamespace('ks-unreachable');
    const file = await values({ git: { url: `http://${env.git.clusterUrl ? new URL(env.git.clusterUrl).hostname : '127.0.0.1'}:9/nowhere.git`, credentials: { username: 'nobody', password: 'not-a-password' } } });
    try {
      await helm(['install', 'lost', chartDir, '-n', ns, '-f', file, '--wait', '--timeout', '2m']);
      const [pod] = await pods(ns);
      expect(pod?.status.containerStatuses?.[0]?.ready).toBe(true);
      expect(await readyEndpoints(ns, 'lost-kubescribe')).toEqual([pod?.status.podIP]);
      const readyz = await (await fetch(`http://${pod?.status.podIP}:8080/readyz`)).json() as { ready: boolean; synced: boolean };
      expect(readyz).toMatchObject({ ready: true, synced: false });
    } finally {
      await helm(['uninstall', 'lost', '-n', ns, '--wait']).catch(() => undefined);
    }
  });
});

async function readyEndpoints(ns: string, service: string): Promise<string[]> {
  const slices = JSON.parse(await kubectl('admin', ['get', 'endpointslices', '-n', ns, '-l', `kubernetes.io/service-name=${service}`, '-o', 'json'])) as { items: Array<{ endpoints?: Array<{ addresses: string[]; conditions: { ready?: boolean } }> }> };
  return slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions.ready).flatMap((e) => e.addresses);
}
