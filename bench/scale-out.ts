// Scale out past one leader (issue 19, target 4). A stack of its own; in the same run, with the
// same load: one leader writing 6 destinations (leaderElection on, one replica) and 3 replicas
// sharing them (leaderElection.perDestination). Each writes 6 branches, one GitRepoConfig +
// WatchRule per namespace. What is measured is the writing, not the API server: the destinations'
// Leases are held by a placeholder ("paused") while alice makes --rounds × --objects changes in
// each namespace (the webhook records every author meanwhile), then released at once; the
// replicas take them, replay every change from the branches' checkpoints (the failover path) and
// push. Throughput = changes ÷ (time from the release until every branch holds every change).
// Printed: both throughputs, their ratio (target ≥ 2.5 where CPU allows), commits/s per replica,
// changes committed as `unknown`, cores and load average.
// Usage: npx tsx bench/scale-out.ts [--objects 50] [--rounds 6] [--modes leader,shared] [--baseline PROGRAM] [--dir /tmp/ks-bench/scale-out] [--keep] [--json results.jsonl]
// --baseline: also another build (its dist/kubescribe.mjs) in the same run, in each mode asked for.
import { cpus } from 'node:os';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { StackEnv } from '../e2e/stack/env.ts';
import { destinationLeaseName } from '../src/leader/rendezvous.ts';
import { KubeClient } from './support/kube-client.ts';
import { arg, fmt, load, record, sleep } from './support/report.ts';
import { benchInstance, cpuSecondsOf, withStack } from './support/stack.ts';

const exec = promisify(execFile);
const objects = Number(arg('objects', '50'));
const rounds = Number(arg('rounds', '6'));
const dir = arg('dir', '/tmp/ks-bench/scale-out');
const modes = arg('modes', 'leader,shared').split(',');
const baseline = arg('baseline', '');
const D = 6;
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/kubescribe/leases';

async function commitsOf(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  return text.split('\n').filter((l) => l.startsWith('kubescribe_commits_total') && l.includes('kind="change"')).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
}

async function parallel(limit: number, tasks: Array<() => Promise<unknown>>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => { while (next < tasks.length) await tasks[next++]!(); }));
}

/** Sets a Lease's holder: a placeholder that never renews (paused) or nobody (released). */
async function setHolder(admin: KubeClient, name: string, holder: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const got = await admin.send('GET', `${LEASES}/${name}`);
    const now = new Date().toISOString().replace('Z', '000Z');
    const spec = { holderIdentity: holder, leaseDurationSeconds: holder ? 3600 : 1, renewTime: now, acquireTime: now };
    const r = got.status === 404
      ? await admin.send('POST', LEASES, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'kubescribe' }, spec })
      : await admin.send('PUT', `${LEASES}/${name}`, { ...JSON.parse(got.body), spec });
    if (r.status < 300) return;
    if (attempt > 20) throw new Error(`lease ${name}: ${r.status} ${r.body.slice(0, 200)}`);
    await sleep(100);
  }
}

interface Result { perSecond: number; perReplica: number[]; unknown: number; seconds: number; cpu: number[]; total: number }

async function run(env: StackEnv, mode: 'leader' | 'shared', program?: string): Promise<Result> {
  const replicas = mode === 'leader' ? 1 : 3;
  const namespaces = Array.from({ length: D }, (_, i) => `so-${mode}-${i}`);
  const alice = new KubeClient(env, 'alice');
  const admin = new KubeClient(env, 'admin');
  const leaseName = `bench-${mode}${program ? '-base' : ''}`;
  const inst = await benchInstance(env, {
    name: `so-${mode}${program ? '-base' : ''}`, namespaces, resources: ['configmaps'], replicas, ...(program ? { program } : {}),
    settings: (s) => {
      delete s.git;
      s.customResources = { enabled: true };
      s.logLevel = 'warn';
      s.leaderElection = { enabled: true, leaseName, leaseDurationMs: 15_000, renewIntervalMs: 2000, perDestination: mode === 'shared' };
    },
  });
  try {
    const dests = namespaces.map((ns, i) => `${ns}/audit@b${i}`);
    for (const [i, ns] of namespaces.entries()) {
      await admin.ok('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      await admin.ok('POST', `/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git-creds' }, stringData: { username: inst.git.username, password: inst.git.password } });
      await admin.ok('POST', `/apis/kubescribe.dev/v1alpha1/namespaces/${ns}/gitrepoconfigs`, { apiVersion: 'kubescribe.dev/v1alpha1', kind: 'GitRepoConfig', metadata: { name: 'audit' }, spec: { url: inst.git.url, secretRef: { name: 'git-creds' }, push: { intervalSeconds: 1 } } });
      await admin.ok('POST', `/apis/kubescribe.dev/v1alpha1/namespaces/${ns}/watchrules`, { apiVersion: 'kubescribe.dev/v1alpha1', kind: 'WatchRule', metadata: { name: 'all' }, spec: { gitRepoConfigRef: { name: 'audit' }, branch: `b${i}`, rules: [{ apiGroups: [''], resources: ['configmaps'] }] } });
      await parallel(16, Array.from({ length: objects }, (_, j) => () => alice.ok('POST', `/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${j}` }, data: { round: '0' } })));
    }
    const count = async (i: number): Promise<number> => Number((await exec('git', ['rev-list', '--count', `b${i}`], { cwd: inst.git.repo }).catch(() => ({ stdout: '0' }))).stdout.trim());
    await inst.startKubescribe();
    // The branches hold the objects (their checkpoints): the changes below are replayed from there.
    const tree = async (i: number): Promise<number> => (await exec('git', ['ls-tree', '-r', '--name-only', `b${i}`], { cwd: inst.git.repo }).catch(() => ({ stdout: '' }))).stdout.split('\n').filter((l) => l.endsWith('.yaml')).length;
    for (let i = 0; i < D; i++) while ((await tree(i)) < objects) await sleep(250);
    await inst.stopKubescribe(); // the last push, the Leases released
    const paused = mode === 'leader' ? [leaseName] : dests.map((d) => destinationLeaseName(leaseName, d));
    for (const l of paused) await setHolder(admin, l, 'bench-paused');
    await inst.startKubescribe();
    const base = await Promise.all(namespaces.map((_, i) => count(i)));
    const before = await Promise.all(inst.replicas.map((r) => commitsOf(r.metricsUrl)));
    const made0 = Date.now();
    for (let round = 1; round <= rounds; round++) {
      await parallel(32, namespaces.flatMap((ns) => Array.from({ length: objects }, (_, j) => () => alice.ok('PATCH', `/api/v1/namespaces/${ns}/configmaps/cm-${j}`, { data: { round: String(round) } }, 'application/merge-patch+json'))));
    }
    const total = D * objects * rounds;
    process.stderr.write(`[${mode}] ${total} changes made in ${((Date.now() - made0) / 1000).toFixed(1)} s while the Leases were paused; releasing\n`);
    const cpu = (): number[] => inst.replicas.map((r) => { const pid = r.pid(); return pid ? cpuSecondsOf(pid) : NaN; });
    const cpu0 = cpu();
    const t0 = Date.now();
    for (const l of paused) await setHolder(admin, l, '');
    for (;;) {
      const counts = await Promise.all(namespaces.map((_, i) => count(i)));
      if (counts.every((c, i) => c - base[i]! >= objects * rounds)) break;
      if (Date.now() - t0 > 600_000) throw new Error(`[${mode}] not every change pushed within 10 min: ${counts.map((c, i) => c - base[i]!).join(', ')} of ${objects * rounds} each`);
      await sleep(100);
    }
    const seconds = (Date.now() - t0) / 1000;
    const cpuUsed = cpu().map((c, i) => c - cpu0[i]!);
    if (mode === 'shared') {
      const list = JSON.parse((await admin.ok('GET', LEASES)).body) as { items: Array<{ metadata: { annotations?: Record<string, string> }; spec: { holderIdentity?: string } }> };
      const holders = list.items.filter((l) => dests.includes(l.metadata.annotations?.['kubescribe.dev/destination'] ?? '')).map((l) => l.spec.holderIdentity ?? '');
      process.stderr.write(`[${mode}] destination Leases held at the end by: ${holders.sort().join(', ')}\n`);
    }
    const after = await Promise.all(inst.replicas.map((r) => commitsOf(r.metricsUrl)));
    let unknown = 0;
    for (let i = 0; i < D; i++) {
      const authors = (await exec('git', ['log', `--max-count=${objects * rounds}`, '--format=%an', `b${i}`], { cwd: inst.git.repo, maxBuffer: 64 << 20 })).stdout.split('\n').filter(Boolean);
      unknown += authors.filter((a) => a !== 'alice').length;
    }
    return { perSecond: total / seconds, perReplica: after.map((a, i) => (a - before[i]!) / seconds), unknown, seconds, cpu: cpuUsed, total };
  } finally {
    // The other setup's kubescribe would act on these custom resources too (its repository gone).
    for (const ns of namespaces) {
      await admin.send('DELETE', `/apis/kubescribe.dev/v1alpha1/namespaces/${ns}/watchrules/all`).catch(() => undefined);
      await admin.send('DELETE', `/apis/kubescribe.dev/v1alpha1/namespaces/${ns}/gitrepoconfigs/audit`).catch(() => undefined);
      await admin.send('DELETE', `/api/v1/namespaces/${ns}/secrets/git-creds`).catch(() => undefined); // the next setup's Git server has another password
    }
    alice.close();
    admin.close();
    await inst.close();
  }
}

const none: Result = { perSecond: NaN, seconds: NaN, unknown: NaN, perReplica: [], cpu: [], total: NaN };
/** Commits per CPU-second of the kubescribe processes: what the writing costs, whatever else runs. */
const perCpu = (r: Result): number => r.total / r.cpu.reduce((a, b) => a + b, 0);
/** One leader as printed: throughput, CPU, authors. */
const leaderLine = (r: Result): string =>
  `${fmt(r.perSecond)} commits/s (${fmt(r.seconds)} s; CPU ${r.cpu.map(fmt).join(' / ')} s, ${fmt(perCpu(r))} commits per CPU-second), not by alice: ${r.unknown}  (load ${load()})`;
/** One setup of 3 replicas as printed: throughput, per replica, CPU, authors. */
const replicasLine = (r: Result): string =>
  `${fmt(r.perSecond)} commits/s (${fmt(r.seconds)} s; per replica ${r.perReplica.map(fmt).join(' / ')} commits/s, CPU ${r.cpu.map(fmt).join(' / ')} s, ${fmt(perCpu(r))} commits per CPU-second), not by alice: ${r.unknown}  (load ${load()})`;

await withStack(dir, async (env) => {
  console.log(`scale-out: ${D} destinations, ${objects} ConfigMaps each, ${rounds} rounds of changes by alice (${D * objects * rounds} changes); ${cpus().length} cores, load ${load()}`);
  const leader = modes.includes('leader') ? await run(env, 'leader') : none;
  console.log(`  1 leader:   ${leaderLine(leader)}`);
  const shared = modes.includes('shared') ? await run(env, 'shared') : none;
  console.log(`  3 replicas: ${replicasLine(shared)}`);
  if (baseline && modes.includes('leader')) {
    const base = await run(env, 'leader', baseline);
    console.log(`  1 leader, baseline ${baseline}: ${leaderLine(base)}`);
  }
  if (baseline && modes.includes('shared')) {
    const base = await run(env, 'shared', baseline);
    console.log(`  3 replicas, baseline ${baseline}: ${replicasLine(base)}`);
  }
  const ratio = shared.perSecond / leader.perSecond;
  record({ bench: 'scale-out', figure: 'ratio 3 replicas/1 leader commits/s', value: ratio, unit: '×', target: '≥ 2.5 (where CPU allows)', met: ratio >= 2.5, note: `${cpus().length} cores; 1 leader ${fmt(leader.perSecond)}/s, 3 replicas ${fmt(shared.perSecond)}/s (${shared.perReplica.map(fmt).join(' / ')}); commits per CPU-second ${fmt(perCpu(leader))} vs ${fmt(perCpu(shared))}` });
  record({ bench: 'scale-out', figure: 'ratio commits per CPU-second 3 replicas/1 leader', value: perCpu(shared) / perCpu(leader), unit: '×' });
});
