// Burst memory (issue 19, target 1): `kubectl create -f` of 10 Lists of 1,000 ConfigMaps into one
// namespace while kubescribe runs (a fresh instance on a stack of its own, the namespace empty
// when it starts). Measured: kubescribe's VmRSS sampled every 100 ms and its VmHWM (peak) —
// against its VmRSS idle before the burst, in the same run — and the time from the last create
// to all of them in the remote branch (target: peak < 150 MiB, all pushed within 30 s).
// What the peak is made of comes from the preloaded probe (bench/support/probe.mjs): V8 heap,
// Buffers (external) and the rest of RSS at the sample of the highest RSS, and what a full GC
// leaves after the burst (with KS_HEAP_SNAPSHOT=1 in the environment, also a heap snapshot for
// bench/heap-summary.ts). --node-options adds V8 flags to kubescribe's, to compare settings;
// --node-args replaces the flags the image gives node on its command line (ENTRYPOINT; those not
// allowed in NODE_OPTIONS, such as --single-threaded-gc), '' for none.
// The stack's Git server logs each push (KUBESCRIBE_GIT_SERVER_LOG): the bytes pushed and the
// server's time for them are printed, since a push that grows (a big folder sent whole) slows the
// drain without showing in kubescribe's own figures.
// Usage: npx tsx bench/burst-memory.ts [--lists 10] [--per-list 1000] [--dir /tmp/ks-bench/burst] [--node-options '...'] [--node-args '...'] [--profile DIR] [--program OTHER/dist/kubescribe.mjs] [--glibc-malloc] [--one-thread] [--set 'a.b=value,…'] [--json results.jsonl]
//        --glibc-malloc: without the image's MALLOC_* settings (e2e/stack/image-env.ts), for a before/after;
//        --one-thread: webhook.ownThread false (the webhook on the main event loop, one V8 heap);
//        --set: settings changed, e.g. memory.optimizeForSize=false.
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { arg, flag, fmt, load, nodeArgs, record, settingsPatch, sleep } from './support/report.ts';
import { benchInstance, cpuSecondsOf, kubescribePid, memoryOf, memTrace, probed, retainedHeap, withStack, type MemSample } from './support/stack.ts';

const exec = promisify(execFile);
const lists = Number(arg('lists', '10'));
const perList = Number(arg('per-list', '1000'));
const dir = arg('dir', '/tmp/ks-bench/burst');
const nodeOptions = arg('node-options', '');
const args = nodeArgs();
/** --set 'a.b=value,…': settings to change (e.g. memory.optimizeForSize=false). */
const patch = settingsPatch('set');
/** A folder for CPU profiles of kubescribe's threads (bench/profile-summary.ts reads them). */
const profileDir = arg('profile', '');
/** Another kubescribe build to run (e.g. main's dist/kubescribe.mjs built elsewhere): before/after. */
const program = arg('program', '');
const imageEnv = !flag('glibc-malloc');
const oneThread = flag('one-thread');
const NS = 'bench-burst';
const now = (): number => performance.timeOrigin + performance.now();

async function filesInRemote(repo: string): Promise<number> {
  const out = await exec('git', ['-C', repo, 'ls-tree', '-r', '--name-only', 'main', '--', `${NS}/`], { maxBuffer: 1 << 28 }).catch(() => ({ stdout: '' }));
  return out.stdout.split('\n').filter((l) => l.includes('/configmaps/')).length;
}

/** The pushes to repo as the Git server logged them: count, bytes, and the server's time. */
async function pushesTo(logFile: string, repo: string): Promise<{ count: number; bytes: number; serverMs: number[] }> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  const lines = text.split('\n').map((l) => l.split(' ')).filter((f) => f[3] === `/${basename(repo)}/git-receive-pack`);
  return { count: lines.length, bytes: lines.reduce((n, f) => n + Number(f[2]), 0), serverMs: lines.map((f) => Number(f[1])).sort((a, b) => a - b) };
}

async function main(): Promise<void> {
  // Kept beside the stack's folder, which is removed; the stack's Git server inherits it.
  const serverLog = `${dir}-git-server.log`;
  await rm(serverLog, { force: true });
  process.env.KUBESCRIBE_GIT_SERVER_LOG = serverLog;
  await withStack(dir, async (env) => {
    const kubectl = (args: string[]) => exec(env.bin.kubectl, ['--kubeconfig', env.kubeconfigs.alice, ...args], { maxBuffer: 1 << 26 });
    await exec(env.bin.kubectl, ['--kubeconfig', env.kubeconfigs.admin, 'create', 'namespace', NS]);
    const files: string[] = [];
    for (let l = 0; l < lists; l++) {
      const items = Array.from({ length: perList }, (_, k) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${l * perList + k}`, namespace: NS, labels: { app: 'bench' } }, data: { index: String(l * perList + k), payload: 'x'.repeat(64) } }));
      const file = join(dir, `list-${l}.json`);
      await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
      files.push(file);
    }
    const inst = await benchInstance(env, {
      name: 'burst', namespaces: [NS], imageEnv, ...(program ? { program } : {}), ...(args ? { nodeArgs: args } : {}),
      settings: (s: Record<string, unknown>) => {
        if (oneThread) (s.webhook as Record<string, unknown>).ownThread = false;
        patch?.(s);
      },
    });
    try {
      const heapDir = `${dir}-heap`; // kept after the stack's folder is removed (a heap snapshot)
      const traceDir = join(dir, 'mem-trace');
      await probed({ heapDir, memTraceDir: traceDir, cpuProfileDir: profileDir || undefined, nodeOptions: nodeOptions || undefined }, () => inst.startKubescribe());
      const pid = kubescribePid(inst.settingsFile);
      if (!pid) throw new Error('kubescribe is not running');
      await sleep(3000);
      const idle = memoryOf(pid);
      const cpu0 = cpuSecondsOf(pid);
      let peakSample = idle.rssMiB;
      const sampler = setInterval(() => { peakSample = Math.max(peakSample, memoryOf(pid).rssMiB); }, 100);
      const total = lists * perList;
      const t0 = now();
      for (const f of files) await kubectl(['create', '-f', f, '-o', 'name']);
      const lastCreate = now();
      let inRemote = 0;
      while ((inRemote = await filesInRemote(inst.git.repo)) < total && now() - lastCreate < 300_000) await sleep(250);
      const allPushed = now();
      const cpuS = cpuSecondsOf(pid) - cpu0;
      clearInterval(sampler);
      const after = memoryOf(pid);
      const metrics = await (await fetch(inst.metricsUrl)).text().catch(() => '');
      const mib = (name: string): string => fmt(Number(new RegExp(`^kubescribe_process_${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(metrics)?.[1] ?? NaN) / 2 ** 20);
      const heap = `V8 heap used ${mib('nodejs_heap_size_used_bytes')} of ${mib('nodejs_heap_size_total_bytes')} MiB, external ${mib('nodejs_external_memory_bytes')} MiB`;
      const retained = await retainedHeap(pid, heapDir, 180_000);
      const l = load();
      const samples = memTrace(pid, traceDir).filter((x) => x.at <= allPushed);
      const peak = samples.reduce((a, b) => (b.vmRss > a.vmRss ? b : a), samples[0]!);
      // The webhook thread's own V8 heap (its samples, nearest in time): part of "the rest" otherwise.
      const threadSamples = memTrace(pid, traceDir, true);
      const threadAt = (at: number): MemSample | undefined => threadSamples.reduce<MemSample | undefined>((best, x) => (best === undefined || Math.abs(x.at - at) < Math.abs(best.at - at) ? x : best), undefined);
      const parts = (x: MemSample): string => {
        const t = threadAt(x.at);
        const thread = t ? `; webhook thread's V8 heap used ${m(t.heapUsed)} of ${m(t.heapTotal)} MiB, external ${m(t.external)} MiB` : '';
        return `main V8 heap used ${m(x.heapUsed)} of ${m(x.heapTotal)} MiB, external ${m(x.external)} MiB (array buffers ${m(x.arrayBuffers)})${thread}; the rest ${m(x.vmRss - x.heapTotal - x.external - (t ? t.heapTotal + t.external : 0))} MiB`;
      };
      const m = (b: number): string => fmt(b / 2 ** 20);
      const createS = (lastCreate - t0) / 1000;
      const drainS = (allPushed - lastCreate) / 1000;
      console.log(`${total} ConfigMaps created by kubectl (${lists} Lists of ${perList}) in ${fmt(createS)} s; load ${l}`);
      console.log(`  in the remote: ${inRemote}/${total}, ${fmt(drainS)} s after the last create; kubescribe's CPU ${fmt(cpuS)} s`);
      const pushes = await pushesTo(serverLog, inst.git.repo);
      const at = (q: number): number => pushes.serverMs[Math.min(pushes.serverMs.length - 1, Math.floor(q * pushes.serverMs.length))] ?? NaN;
      console.log(`  pushes: ${pushes.count}, ${fmt(pushes.bytes / 2 ** 20)} MiB sent; the Git server's time for one: median ${at(0.5)} ms, p90 ${at(0.9)} ms`);
      console.log(`  kubescribe VmRSS: idle ${fmt(idle.rssMiB)} MiB, peak sampled ${fmt(peakSample)} MiB, VmHWM ${fmt(after.hwmMiB)} MiB, after ${fmt(after.rssMiB)} MiB; ${heap}`);
      const first = samples[0];
      if (first) console.log(`  at the first sample (${m(first.vmRss)} MiB RSS): ${parts(first)}`);
      if (peak) console.log(`  at the highest sample (${m(peak.vmRss)} MiB RSS): ${parts(peak)}`);
      if (retained) console.log(`  after a full GC: V8 heap ${fmt(retained.heapUsedMiB)} of ${fmt(retained.heapTotalMiB)} MiB, VmRSS ${fmt(retained.rssMiB)} MiB`);
      console.log(`  target peak < 150 MiB: ${after.hwmMiB < 150 ? 'met' : 'NOT met'}; all in the remote ≤ 30 s: ${inRemote >= total && drainS <= 30 ? 'met' : 'NOT met'}${nodeOptions ? ` (node options: ${nodeOptions})` : ''}`);
      const x = { name: 'objects', value: total };
      record({ bench: 'burst', figure: 'peak VmRSS (VmHWM) during the burst', value: after.hwmMiB, unit: 'MiB', x, loadavg: l, target: '< 150 MiB', met: after.hwmMiB < 150, note: `idle before ${fmt(idle.rssMiB)} MiB${peak ? `; at the peak V8 heap ${m(peak.heapTotal)} MiB, external ${m(peak.external)} MiB` : ''}${nodeOptions ? `; ${nodeOptions}` : ''}` });
      record({ bench: 'burst', figure: 'kubescribe CPU for the burst', value: cpuS, unit: 's', x, loadavg: l, note: nodeOptions || undefined });
      record({ bench: 'burst', figure: 'peak VmRSS ÷ idle VmRSS', value: after.hwmMiB / idle.rssMiB, unit: '×', x, loadavg: l });
      record({ bench: 'burst', figure: 'last create → all in the remote', value: drainS, unit: 's', x, loadavg: l, target: '≤ 30 s', met: inRemote >= total && drainS <= 30, note: `${inRemote}/${total} pushed; creating took ${fmt(createS)} s` });
      record({ bench: 'burst', figure: 'bytes pushed for the burst', value: pushes.bytes / 2 ** 20, unit: 'MiB', x, loadavg: l, note: `${pushes.count} pushes` });
    } finally {
      await inst.close();
    }
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
