// A correlation that never reached the leader: the replica whose webhook answered could not push
// it (here it has no peers to push to; in a cluster, a push that failed twice under load). The
// leader, still missing the author after its miss wait, asks its peers for those keys before it
// settles for `unknown` — so every change is committed as alice's. Periodic pulls are off (an
// hour apart), so only the lookup on a miss can bring the correlations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInstance, type Instance, type ReplicaControls } from './stack/instance.ts';
import { eventually, freshNamespace, git, kubectl, stackEnv } from './support.ts';

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text();
  return text.split('\n').filter((l) => l.startsWith(name)).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

describe('the leader asks its peers for the keys it misses', () => {
  let inst: Instance & ReplicaControls;
  let ns: string;
  beforeAll(async () => {
    ns = await freshNamespace('miss');
    inst = await startInstance(stackEnv(), {
      name: 'lookup-on-miss', namespaces: [ns], replicas: 2, resources: ['configmaps'],
      // Each review on a connection of its own, so the proxy spreads them over both replicas.
      settings: (s) => { (s.webhook as Record<string, unknown>).maxRequestsPerConnection = 1; },
      replicaSettings: (i, s) => {
        const peers = s.peers as Record<string, unknown>;
        peers.pullIntervalMs = 3_600_000;
        if (i === 1) peers.static = []; // replica 1 never pushes
      },
    });
    await inst.replicas[0]!.start(); // replica 0 leads: it can pull replica 1, which cannot push to it
    await eventually('replica 0 to lead', async () => (await inst.leader()) === 0 || undefined, 30_000, 100);
    await inst.startKubescribe();
  });
  afterAll(async () => { await inst?.close(); });

  it('commits every change as its author, also those reviewed by a replica that could not push', async () => {
    const reviewsBefore = await metric(inst.replicas[1]!.metricsUrl, 'kubescribe_webhook_requests_total');
    const found = (): Promise<number> => metric(inst.replicas[0]!.metricsUrl, 'kubescribe_peer_lookups_total{result="found"}');
    const foundBefore = await found();
    const names = Array.from({ length: 12 }, (_, i) => `m-${i}`);
    for (const name of names) await kubectl('alice', ['create', 'configmap', name, '-n', ns, '--from-literal=k=v']);
    const log = async (): Promise<Array<{ author: string; subject: string }>> => {
      const out = await git(inst.git.repo, ['log', '--format=%an%x00%s', 'main', '--', ns]).catch(() => '');
      // alice's ConfigMaps (kube-root-ca.crt, made by the publisher, is in the folder too).
      return out.split('\n').filter(Boolean).map((l) => { const [author = '', subject = ''] = l.split('\0'); return { author, subject }; })
        .filter((c) => c.subject.startsWith(`CREATE v1 configmaps ${ns}/m-`));
    };
    await eventually('12 commits', async () => (await log()).length >= names.length || undefined, 60_000, 250);
    // Replica 1 answered some of them (so their correlations were only in its store) …
    expect(await metric(inst.replicas[1]!.metricsUrl, 'kubescribe_webhook_requests_total')).toBeGreaterThan(reviewsBefore);
    // … and the leader fetched them by asking for the keys it missed.
    expect(await found()).toBeGreaterThan(foundBefore);
    const l = await log();
    expect(l).toHaveLength(names.length);
    expect(l.filter((c) => c.author !== 'alice')).toEqual([]);
  });
});
