// A resync in a busy cluster folds nothing. Every resync (periodic, or asked for by a new rule) lists
// at the resourceVersion its watch had handed on and watches on from there; listed "now" instead,
// two updates of one object made while the list ran became one diff without authors — with rules
// added now and then somewhere in a cluster, that reached every namespace's changes (the likeliest
// cause of the CI failure of 12-07, where "90 updates recorded" never came while other specs added
// configmaps rules on the shared stack). Here an instance resyncs every 300 ms, its API connection
// slowed by a fault proxy (150 ms each way: a busy API server, so each list comes late), while three
// users update the same objects concurrently: every update must be its own commit, under the user
// whose value it holds, and no RECONCILE. Against the old list-watch it fails (2 of 9 folded).
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInstance, type Instance } from './stack/instance.ts';
import { startFaultProxy, type FaultProxy } from './stack/tcp-proxy.ts';
import { apiBackend, eventually, freshNamespace, git, kubeconfigVia, kubectl, parallel, stackEnv, type User } from './support.ts';

async function history(inst: Instance, path: string): Promise<Array<{ sha: string; author: string; subject: string }>> {
  try {
    const out = await git(inst.git.repo, ['log', '--reverse', '--format=%H%x00%an%x00%s', 'main', '--', path]);
    return out.split('\n').filter(Boolean).map((l) => { const [sha = '', author = '', subject = ''] = l.split('\0'); return { sha, author, subject }; });
  } catch { return []; }
}

async function resyncs(inst: Instance): Promise<number> {
  const text = await (await fetch(inst.metricsUrl)).text();
  return Number(/^kubescribe_resyncs_total\{resource="core\/configmaps"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

describe('resyncs under concurrent updates', () => {
  let inst: Instance;
  let ns: string;
  let api: FaultProxy;
  beforeAll(async () => {
    ns = await freshNamespace('resync');
    api = await startFaultProxy(apiBackend());
    const kubeconfig = await kubeconfigVia(await mkdtemp(join(stackEnv().stackDir, 'resync-')), 'slow', api);
    inst = await startInstance(stackEnv(), {
      name: 'resync', namespaces: [ns], resources: ['configmaps'],
      settings: (s) => {
        (s.watch as Record<string, unknown>).resyncIntervalMs = 300;
        (s.kubernetes as Record<string, unknown>).kubeconfig = kubeconfig;
      },
    });
    await inst.startKubescribe();
  });
  afterAll(async () => {
    await inst?.close();
    await api?.close();
  });

  it('every update its own commit with its author, though the type relists every 300 ms over a slow API connection', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `busy-${i}`);
    const users: User[] = ['alice', 'bob', 'carol'];
    const rounds = 3;
    await kubectl('admin', ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: names.map((name) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { last: 'admin' } })) }));
    const path = (name: string): string => `${ns}/core/configmaps/${name}.yaml`;
    await eventually('the creates in Git', async () => (await Promise.all(names.map((n) => history(inst, path(n))))).every((h) => h.length === 1), 60_000);
    const before = await resyncs(inst);
    api.set('slow', { delayMs: 150 });
    // Each round every user updates every object with a value naming the user, all at once.
    for (let round = 1; round <= rounds; round++) {
      const tasks = users.flatMap((user) => names.map((name) => () => kubectl(user, ['patch', 'configmap', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ data: { last: user, [`r${round}-${user}`]: 'yes' } })])));
      await parallel(6, tasks.sort(() => Math.random() - 0.5));
    }
    const during = (await resyncs(inst)) - before;
    api.set('pass');
    const updates = users.length * rounds;
    // Done when every object's file holds every round's keys (the last update of each is in Git).
    const keys = users.flatMap((u) => Array.from({ length: rounds }, (_, r) => `r${r + 1}-${u}`));
    const holdsAll = async (name: string): Promise<boolean> => {
      const file = await git(inst.git.repo, ['show', `main:${path(name)}`]).catch(() => '');
      return keys.every((k) => file.includes(`  ${k}: `));
    };
    await eventually('the last update of each object in Git', async () => (await Promise.all(names.map(holdsAll))).every(Boolean), 90_000);
    const logs = await Promise.all(names.map((n) => history(inst, path(n))));
    console.log(`[resync] ${names.length * updates} updates by ${users.length} users while the type was relisted ${during} times`);
    expect(during).toBeGreaterThanOrEqual(3); // the resyncs did run during the updates
    for (const [i, log] of logs.entries()) {
      expect(log.map((c) => c.subject.split(' ')[0]), names[i]).toEqual(['CREATE', ...Array<string>(updates).fill('UPDATE')]);
      for (const c of log.slice(1)) {
        const content = await git(inst.git.repo, ['show', `${c.sha}:${path(names[i]!)}`]);
        expect(content, `${names[i]} ${c.sha}`).toMatch(new RegExp(`^  last: ${c.author}$`, 'm'));
      }
    }
  });
});
