// Initial snapshot and memory (issue 7, targets 4 and 5). A stack of its own (its etcd holds only
// what this benchmark creates, since the watch lists cluster-wide); for each size N (cumulative:
// 100, 1,000, 10,000 ConfigMaps, and 100,000 when asked) a fresh kubescribe instance (own repo,
// data dir, webhook) is started with the N objects already in the cluster:
//   snapshot  process start → the start-up RECONCILE commit in the journal (committed) → the remote
//             branch ref at it (pushed; push interval 100 ms so that it adds little), side by side
//             with `git fast-import` writing the same tree (the same paths and bytes, read back
//             from the pushed commit) as one commit into a fresh repository, process start to exit.
//             Target at 10,000 objects: ≤ 2× fast-import.
//   memory    VmRSS and VmHWM (peak) of the kubescribe process once the snapshot is pushed and it
//             has been idle a few seconds, and the V8 heap from its metrics; then, through a
//             preloaded probe (bench/support/probe.mjs), the heap and RSS right after a full GC
//             (what it retains). Targets (VmRSS): < 150 MiB at 10,000 objects, < 300 MiB at 100,000.
// Usage: npx tsx bench/snapshot-memory.ts [--sizes 100,1000,10000] [--dir /tmp/ks-bench/snapshot]
//        [--settle 5] [--keep] [--profile DIR] [--node-options '--max-semi-space-size=2'] [--program dist/kubescribe.mjs of another build] [--glibc-malloc] [--json results.jsonl]
//        --glibc-malloc: without the image's MALLOC_* settings (e2e/stack/image-env.ts), for a before/after.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createBareRepo } from '../e2e/stack/git-server.ts';
import { GitProbe } from './support/git-probe.ts';
import { createConfigMaps, KubeClient } from './support/kube-client.ts';
import { arg, flag, fmt, load, numbers, record, sleep } from './support/report.ts';
import { benchInstance, kubescribePid, memoryOf, probed, retainedHeap, withStack } from './support/stack.ts';

const exec = promisify(execFile);
const sizes = numbers('sizes', '100,1000,10000');
const dir = arg('dir', '/tmp/ks-bench/snapshot');
const settle = Number(arg('settle', '5'));
const profileDir = arg('profile', '');
const nodeOptions = arg('node-options', '');
const NS = 'bench-snapshot';

const now = (): number => performance.timeOrigin + performance.now();

/** Every file of the remote branch tip, as a fast-import stream of one commit (not timed). */
async function treeAsFastImport(repo: string): Promise<{ stream: Buffer; files: number; objects: number; bytes: number }> {
  const { stdout } = await exec('git', ['-C', repo, 'ls-tree', '-r', '-z', 'main'], { maxBuffer: 1 << 30 });
  const entries = stdout.split('\0').filter(Boolean).map((l) => { const [meta = '', path = ''] = l.split('\t'); return { oid: meta.split(' ')[2] ?? '', path }; });
  const blobs = await catBlobs(repo, entries.map((e) => e.oid));
  const parts: Buffer[] = [Buffer.from('commit refs/heads/main\ncommitter kubescribe <kubescribe@example.com> 1700000000 +0000\ndata 9\nRECONCILE\n')];
  let bytes = 0;
  for (const e of entries) {
    const body = blobs.get(e.oid)!;
    bytes += body.length;
    parts.push(Buffer.from(`M 100644 inline ${e.path}\ndata ${body.length}\n`), body, Buffer.from('\n'));
  }
  return { stream: Buffer.concat(parts), files: entries.length, objects: entries.filter((e) => e.path.includes('/configmaps/')).length, bytes };
}

async function catBlobs(repo: string, oids: string[]): Promise<Map<string, Buffer>> {
  const p = spawn('git', ['-C', repo, 'cat-file', '--batch'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  p.stdout.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((ok, fail) => p.on('close', (code) => (code === 0 ? ok() : fail(new Error(`git cat-file exited with ${code}`)))));
  p.stdin.end(oids.join('\n') + '\n');
  await done;
  const all = Buffer.concat(chunks);
  const out = new Map<string, Buffer>();
  let at = 0;
  while (at < all.length) {
    const nl = all.indexOf(10, at);
    const [oid = '', , size = '0'] = all.subarray(at, nl).toString().split(' ');
    const start = nl + 1;
    out.set(oid, all.subarray(start, start + Number(size)));
    at = start + Number(size) + 1;
  }
  return out;
}

/** git fast-import of the stream into a fresh bare repository: process start to exit, ms. */
async function fastImport(stream: Buffer): Promise<number> {
  const tmp = await mkdtemp(join(tmpdir(), 'bench-snapshot-fi-'));
  try {
    const gitDir = await createBareRepo(tmp, 'fi', { defaultBranch: 'main' });
    const t0 = now();
    await new Promise<void>((ok, fail) => {
      const p = spawn('git', ['--git-dir', gitDir, 'fast-import', '--quiet'], { stdio: ['pipe', 'inherit', 'inherit'] });
      p.on('error', fail);
      p.on('close', (code) => (code === 0 ? ok() : fail(new Error(`git fast-import exited with ${code}`))));
      p.stdin.end(stream);
    });
    return now() - t0;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** From kubescribe's log: when it first logged, and when it had listed the ConfigMaps (epoch ms). */
async function logMarks(log: string): Promise<{ firstLine?: number; listed?: number }> {
  const lines = (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l) as { time?: number; msg?: string; resource?: string }; } catch { return {}; } });
  return { firstLine: lines.find((l) => l.time !== undefined)?.time, listed: lines.find((l) => l.msg === 'listed' && l.resource?.endsWith('/configmaps'))?.time };
}

async function heapFromMetrics(url: string): Promise<string> {
  const text = await (await fetch(url)).text().catch(() => '');
  const get = (name: string): number => Number(new RegExp(`^kubescribe_process_${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
  return `V8 heap used ${fmt(get('nodejs_heap_size_used_bytes'))} of ${fmt(get('nodejs_heap_size_total_bytes'))} MiB, external ${fmt(get('nodejs_external_memory_bytes'))} MiB`;
}

async function main(): Promise<void> {
  await withStack(dir, async (env) => {
    const admin = new KubeClient(env, 'admin', 64);
    let created = 0;
    try {
      for (const n of sizes) {
        const t = now();
        await createConfigMaps(admin, NS, { from: created, to: n, concurrency: 32, onProgress: (d) => process.stderr.write(`  created ${created + d}/${n}\r`) });
        if (n > created) console.log(`created ${n - created} ConfigMaps (now ${n}) in ${fmt((now() - t) / 1000)} s; load ${load()}`);
        created = Math.max(created, n);

        const inst = await benchInstance(env, { name: `snap${n}`, namespaces: [NS], program: arg('program', '') || undefined, imageEnv: !flag('glibc-malloc'), settings: (s) => { (s.git as Record<string, unknown>).pushIntervalMs = 100; } });
        // The probe watches before kubescribe starts: the journal is emptied by the first push.
        const p = new GitProbe({ dataDir: join(inst.dir, 'data') }, inst.git.repo);
        try {
          await p.ready;
          const t0 = now();
          const heapDir = join(inst.dir, 'heap-probe');
          const starting = probed({ cpuProfileDir: profileDir || undefined, heapDir, nodeOptions: nodeOptions || undefined }, () => inst.startKubescribe());
          const reconcile = (): number | undefined => p.local.find((c) => c.op === 'RECONCILE')?.at;
          await p.until('the reconcile pushed', () => p.pushes.length > 0, 300_000);
          await starting;
          const readyAt = now();
          const pushedAt = p.pushes[0]!.at;
          await p.until('the reconcile commit', () => reconcile() !== undefined, 2_000).catch(() => console.log('  ! the reconcile commit was not seen in the journal'));
          const committedAt = reconcile() ?? NaN;
          const { stream, files, objects, bytes } = await treeAsFastImport(inst.git.repo);
          // Beside the bench's own, the namespace holds what the cluster put there (kube-root-ca.crt).
          const others = (JSON.parse((await admin.ok('GET', `/api/v1/namespaces/${NS}/configmaps?labelSelector=${encodeURIComponent('app!=bench')}`)).body) as { items: unknown[] }).items.length;
          if (objects !== n + others) console.log(`  ! the pushed tree has ${objects} ConfigMaps, expected ${n} + ${others} of the cluster's`);
          const fiMs = await fastImport(stream);

          await sleep(settle * 1000);
          const pid = kubescribePid(inst.settingsFile);
          const mem = pid ? memoryOf(pid) : { rssMiB: NaN, hwmMiB: NaN };
          const heap = await heapFromMetrics(inst.metricsUrl);
          // Then a full GC: what kubescribe retains, apart from what V8 had not collected yet.
          const retained = pid ? await retainedHeap(pid, heapDir) : undefined;
          const l = load();
          const committedMs = committedAt - t0;
          const pushedMs = pushedAt - t0;
          console.log(`${n} objects (${files} files, ${fmt(bytes / 2 ** 20)} MiB of YAML); load ${l}`);
          const marks = await logMarks(inst.log);
          const since = (t: number | undefined): string => (t === undefined ? '?' : fmt(t - t0));
          console.log(`  kubescribe: start → first log line ${since(marks.firstLine)} ms → ConfigMaps listed ${since(marks.listed)} ms → reconcile committed ${fmt(committedMs)} ms → pushed ${fmt(pushedMs)} ms (ready after ${fmt(readyAt - t0)} ms)`);
          console.log(`  git fast-import of the same tree: ${fmt(fiMs)} ms   ratio committed ${fmt(committedMs / fiMs)}×, pushed ${fmt(pushedMs / fiMs)}×`);
          console.log(`  memory ${settle} s after: VmRSS ${fmt(mem.rssMiB)} MiB, VmHWM ${fmt(mem.hwmMiB)} MiB; ${heap}`);
          if (retained) console.log(`  after a full GC: V8 heap used ${fmt(retained.heapUsedMiB)} of ${fmt(retained.heapTotalMiB)} MiB, VmRSS ${fmt(retained.rssMiB)} MiB`);
          const x = { name: 'objects', value: n };
          const snapTarget = n === 10_000 ? { target: '≤ 2× git fast-import', met: pushedMs / fiMs <= 2 } : {};
          record({ bench: 'snapshot', figure: 'snapshot pushed / fast-import', value: pushedMs / fiMs, unit: '×', x, loadavg: l, ...snapTarget, note: `${fmt(pushedMs)} ms vs ${fmt(fiMs)} ms` });
          record({ bench: 'snapshot', figure: 'snapshot committed / fast-import', value: committedMs / fiMs, unit: '×', x, loadavg: l, note: `${fmt(committedMs)} ms vs ${fmt(fiMs)} ms` });
          record({ bench: 'snapshot', figure: 'snapshot pushed', value: pushedMs, unit: 'ms', x, loadavg: l });
          record({ bench: 'snapshot', figure: 'fast-import same tree', value: fiMs, unit: 'ms', x, loadavg: l });
          const memTarget = n === 10_000 ? { target: '< 150 MiB', met: mem.rssMiB < 150 } : n === 100_000 ? { target: '< 300 MiB', met: mem.rssMiB < 300 } : {};
          record({ bench: 'memory', figure: 'VmRSS after sync', value: mem.rssMiB, unit: 'MiB', x, loadavg: l, ...memTarget, note: heap });
          record({ bench: 'memory', figure: 'VmHWM (peak)', value: mem.hwmMiB, unit: 'MiB', x, loadavg: l });
          // The memory-reducing GC after the snapshot (src/reduce-memory.ts): how long it held the event loop.
          const gcText = await (await fetch(inst.metricsUrl)).text().catch(() => '');
          const gcGet = (name: string): number => Number(new RegExp(`^kubescribe_memory_release_seconds_${name} ([0-9.e+-]+)$`, 'm').exec(gcText)?.[1] ?? NaN);
          if (gcGet('count') > 0) record({ bench: 'memory', figure: 'memory-reducing GC pause', value: (gcGet('sum') / gcGet('count')) * 1000, unit: 'ms', x, loadavg: l, note: `${gcGet('count')} GC(s)` });
          if (retained) {
            record({ bench: 'memory', figure: 'V8 heap retained (after a full GC)', value: retained.heapUsedMiB, unit: 'MiB', x, loadavg: l });
            record({ bench: 'memory', figure: 'VmRSS after a full GC', value: retained.rssMiB, unit: 'MiB', x, loadavg: l });
          }
        } finally {
          await p.stop();
          await inst.close();
        }
      }
    } finally {
      admin.close();
    }
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
