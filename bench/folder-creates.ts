// Creates into one big folder, the Git side of issue 19's burst (bench/burst-memory.ts runs the
// whole process; this isolates the store, in-process, without a cluster):
//  1. the cost of a commit that creates a file in a folder of 10,000+ (TreeIndex + ObjectStore,
//     a pack every 200 creates as before a push), µs a create;
//  2. 10,000 creates through GitWriter with its default batching (a push every 200 commits or
//     1 s) to the local smart-HTTP server, paced like the burst: the peak of Buffers
//     (process.memoryUsage().arrayBuffers, sampled every 50 ms) and the Buffers of 32 KiB or more
//     allocated on the way, by where (Buffer.allocUnsafe / allocUnsafeSlow, which Buffer.concat and
//     zlib use too) — what the GC has to chase.
// --src DIR runs another checkout's src/ (e.g. a worktree of the commit before) in the same run's
// conditions: before/after.
// Usage: npx tsx bench/folder-creates.ts [--src /tmp/base/src] [--creates 10000] [--frames 2] [--json results.jsonl]
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { createBareRepo, startGitServer } from '../e2e/stack/git-server.ts';
import type * as GitIndex from '../src/git/index.ts';
import type * as StoreModule from '../src/git/object-store.ts';
import type * as TreeModule from '../src/git/tree-index.ts';
import { arg, fmt, load, record, sleep } from './support/report.ts';

const src = resolve(arg('src', new URL('../src', import.meta.url).pathname));
const creates = Number(arg('creates', '10000'));
/** How many of our frames name an allocation site (--frames N). */
const frames = Number(arg('frames', '2'));
Error.stackTraceLimit = Math.max(10, frames + 4);
const MiB = 1024 * 1024;
const from = async <T>(rel: string): Promise<T> => (await import(pathToFileURL(join(src, rel)).href)) as T;

/** µs a create into a folder of 10,000 files and more. */
async function createCost(): Promise<number[]> {
  const { ObjectStore } = await from<typeof StoreModule>('git/object-store.ts');
  const { TreeIndex } = await from<typeof TreeModule>('git/tree-index.ts');
  const dir = await mkdtemp(join(tmpdir(), 'bench-folder-creates-'));
  try {
    execFileSync('git', ['init', '-q', '--bare', dir]);
    const store = await ObjectStore.open(dir, 'main');
    const tree = await TreeIndex.load(store, undefined);
    const blob = store.write('blob', Buffer.from('x'));
    tree.apply(Array.from({ length: 10_000 }, (_, i) => ({ path: `ns/core/configmaps/cm-${i}.yaml`, oid: blob })));
    tree.write(store);
    const rounds: number[] = [];
    for (let round = 0; round < 3; round++) {
      const t0 = performance.now();
      for (let k = 0; k < 2000; k++) {
        tree.apply([{ path: `ns/core/configmaps/new-${round}-${k}.yaml`, oid: store.write('blob', Buffer.from(`v${round} ${k}`)) }]);
        tree.write(store);
        if (k % 200 === 199) {
          await store.flush();
          store.forgetRecent(store.mark());
        }
      }
      rounds.push(((performance.now() - t0) / 2000) * 1000);
    }
    await store.close();
    return rounds;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Buffers of 32 KiB or more allocated by `run`, by the first frames of where. */
async function bigAllocations(run: () => Promise<void>): Promise<Map<string, { n: number; bytes: number }>> {
  const sites = new Map<string, { n: number; bytes: number }>();
  const originals = { allocUnsafe: Buffer.allocUnsafe, allocUnsafeSlow: Buffer.allocUnsafeSlow };
  for (const name of ['allocUnsafe', 'allocUnsafeSlow'] as const) {
    const orig = originals[name];
    Buffer[name] = ((size: number) => {
      const b = orig(size);
      if (size >= 32 * 1024) {
        const stack = (new Error().stack ?? '').split('\n').slice(2).map((l) => l.trim().replace(/^at /, ''));
        const ours = stack.filter((f) => f.includes('/src/')).slice(0, frames).map((f) => f.replace(/\(.*\/src\//, '(src/').replace(/:\d+\)$/, ')'));
        const k = `${stack[0]?.split(' ')[0] ?? '?'} < ${ours.join(' < ')}`;
        const e = sites.get(k) ?? { n: 0, bytes: 0 };
        e.n++;
        e.bytes += size;
        sites.set(k, e);
      }
      return b;
    }) as typeof Buffer.allocUnsafe;
  }
  try {
    await run();
  } finally {
    Object.assign(Buffer, originals);
  }
  return sites;
}

async function burst(): Promise<{ seconds: number; peakArrayBuffers: number; sites: Map<string, { n: number; bytes: number }> }> {
  const { GitWriter } = await from<typeof GitIndex>('git/index.ts');
  const tmp = await mkdtemp(join(tmpdir(), 'bench-folder-creates-'));
  const server = await startGitServer({ root: join(tmp, 'srv'), username: 'bench', password: 'bench', port: 0 });
  try {
    await createBareRepo(join(tmp, 'srv'), 'r', { defaultBranch: 'main' });
    const w = await GitWriter.open({
      dir: join(tmp, 'w'), url: `${server.url}/r.git`, branch: 'main', credentials: () => ({ username: 'bench', password: 'bench' }),
      committer: { name: 'kubescribe', email: 'kubescribe@example.com' }, logger: pino({ level: 'silent' }),
    });
    let peak = 0;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().arrayBuffers); }, 50);
    const t0 = performance.now();
    const sites = await bigAllocations(async () => {
      for (let i = 0; i < creates; i++) {
        const content = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${i}\n  namespace: bench-burst\n  labels:\n    app: bench\ndata:\n  index: "${i}"\n  payload: ${'x'.repeat(64)}\n`;
        await w.commit({ changes: [{ path: `bench-burst/core/configmaps/cm-${i}.yaml`, content }], author: { name: 'alice', email: 'alice@example.com', timestamp: 1_700_000_000 + i }, message: `CREATE v1 configmaps bench-burst/cm-${i}\n` });
        if (i % 100 === 99) await sleep(300); // about the pace of the burst through the apiserver
      }
      const pushed = await w.flush();
      if (!pushed.ok) throw pushed.error;
    });
    clearInterval(sampler);
    const seconds = (performance.now() - t0) / 1000;
    await w.close();
    return { seconds, peakArrayBuffers: peak, sites };
  } finally {
    await server.stop();
    // A receive-pack the server started may still be writing its objects: retry while it finishes.
    await rm(tmp, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }
}

async function main(): Promise<void> {
  console.log(`creates into one big folder, src ${src}; load ${load()}`);
  const cost = await createCost();
  const l1 = load();
  console.log(`  a create into a folder of 10,000 / 12,000 / 14,000+: ${cost.map((c) => `${fmt(c)} µs`).join(' / ')}  (load ${l1})`);
  record({ bench: 'folder-creates', figure: 'commit of a create into a folder of 10,000+', value: cost[0]!, unit: 'µs', loadavg: l1, note: `${src}; 12,000+: ${fmt(cost[1]!)}, 14,000+: ${fmt(cost[2]!)} µs` });
  const b = await burst();
  const l2 = load();
  const total = [...b.sites.values()].reduce((s, e) => s + e.bytes, 0);
  console.log(`  ${creates} creates through GitWriter with pushes in ${fmt(b.seconds)} s: Buffers peak ${fmt(b.peakArrayBuffers / MiB)} MiB; ${fmt(total / MiB)} MiB allocated in Buffers of 32 KiB or more  (load ${l2})`);
  for (const [site, e] of [...b.sites].sort((x, y) => y[1].bytes - x[1].bytes).slice(0, 8)) {
    console.log(`    ${fmt(e.bytes / MiB).padStart(7)} MiB ${String(e.n).padStart(6)}×  ${site}`);
  }
  record({ bench: 'folder-creates', figure: 'Buffers peak during 10,000 creates with pushes', value: b.peakArrayBuffers / MiB, unit: 'MiB', loadavg: l2, note: `${src}; ${fmt(total / MiB)} MiB allocated in Buffers ≥ 32 KiB` });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
