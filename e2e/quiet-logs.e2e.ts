// Steady state logs nothing at info (issue 19, target 6): two replicas (leader election, peer
// pulls every second), discovery every second and a resync every 3 s — the periodic work of a
// running kubescribe — and no change in the cluster. Once the first changes are committed and
// pushed, a quiet window of several rounds of each must add no line at info or above to any
// replica's log. (The webhook-rules line was logged every discovery tick though nothing changed.)
// Steady state also runs V8 for size (memory.optimizeForSize): the gauge says so on every replica.
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInstance, type Instance, type ReplicaControls } from './stack/instance.ts';
import { infoLinesAfter } from './stack/log-lines.ts';
import { eventually, freshNamespace, git, kubectl, stackEnv } from './support.ts';

const QUIET_MS = 8_000;

describe('steady state', () => {
  let inst: Instance & ReplicaControls;
  let ns: string;
  beforeAll(async () => {
    ns = await freshNamespace('quiet');
    inst = await startInstance(stackEnv(), {
      name: 'quiet-logs', namespaces: [ns], replicas: 2, resources: ['configmaps'],
      settings: (s) => {
        (s.customResources as Record<string, unknown>).discoveryIntervalMs = 1000;
        (s.watch as Record<string, unknown>).resyncIntervalMs = 3000;
      },
    });
    await inst.startKubescribe();
  });
  afterAll(async () => { await inst?.close(); });

  it('logs nothing at info while nothing changes', async () => {
    await kubectl('alice', ['create', 'configmap', 'q-1', '-n', ns, '--from-literal=k=v']);
    await eventually('the change pushed', async () => (await git(inst.git.repo, ['log', '--format=%s', 'main']).catch(() => '')).includes(`${ns}/q-1`) || undefined, 60_000, 200);
    // The periodic work has run at least once since (a resync, discovery, peer pulls).
    await new Promise((r) => setTimeout(r, 4000));
    const logs = inst.replicas.map((r) => r.log);
    const from = logs.map((f) => statSync(f).size);
    await new Promise((r) => setTimeout(r, QUIET_MS));
    const lines = logs.flatMap((f, i) => infoLinesAfter(f, from[i]!).map((l) => `replica ${i}: ${l.slice(0, 300)}`));
    expect(lines).toEqual([]);
    // The window was not quiet because the replicas had stopped: the leader still answers.
    expect(await inst.leader()).toBeGreaterThanOrEqual(0);
  });

  it('runs the heap for size in steady state, the leader once its start-up is done (memory.optimizeForSize)', async () => {
    const favours = async (url: string): Promise<string | undefined> => /^kubescribe_heap_favours_size (\S+)$/m.exec(await (await fetch(url)).text())?.[1];
    await eventually('every replica favours size', async () => (await Promise.all(inst.replicas.map((r) => favours(r.metricsUrl)))).every((v) => v === '1') || undefined, 30_000, 200);
  });
});
