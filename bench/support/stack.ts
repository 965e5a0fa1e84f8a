// The local real stack for a benchmark: a stack of its own in its own folder (apiserver + etcd and
// a Git server; kubescribe instances are started by the benchmark through e2e/stack/instance.ts),
// stopped and removed at the end, on error and on Ctrl-C alike. Also reads a kubescribe
// instance's memory from /proc.
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { StackEnv } from '../../e2e/stack/env.ts';
import { startInstance, type Instance, type InstanceOptions, type ReplicaControls } from '../../e2e/stack/instance.ts';
import { down, up } from '../../e2e/stack/stack.ts';

const open = new Set<Instance>();

/** startInstance, remembered so that the stack's cleanup (also on Ctrl-C) stops it too. */
export async function benchInstance(env: StackEnv, o: InstanceOptions): Promise<Instance & ReplicaControls & { close(): Promise<void> }> {
  const inst = await startInstance(env, o);
  open.add(inst);
  const close = inst.close.bind(inst);
  return Object.assign(inst, { close: async () => { open.delete(inst); await close(); } });
}

/** Runs fn on a stack of its own in `dir` (removed afterwards unless --keep or o.keep). */
export async function withStack<T>(dir: string, fn: (env: StackEnv) => Promise<T>, o: { keep?: boolean } = {}): Promise<T> {
  const log = (m: string): void => { process.stderr.write(`[stack] ${m}\n`); };
  const keep = o.keep ?? process.argv.includes('--keep');
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> => (cleaning ??= (async () => {
    for (const inst of [...open]) await inst.close().catch((err: unknown) => log(`closing instance ${inst.name} failed: ${String(err)}`));
    await down({ dir, purge: false, log });
    // A git child of a stopped Git server may still be finishing a write: retry the removal.
    if (!keep) await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 300 });
  })().catch((err: unknown) => log(`cleanup failed: ${String(err)}`)));
  const onSignal = (): void => { void cleanup().then(() => process.exit(130)); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const env = await up({ dir, kubescribe: false, log });
    return await fn(env);
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The pid of the kubescribe process started with this settings file (instances do not expose it). */
export function kubescribePid(settingsFile: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmd.includes(settingsFile) && cmd.some((a) => a.endsWith('kubescribe.mjs'))) return Number(entry);
    } catch { /* gone */ }
  }
  return undefined;
}

/** VmRSS and VmHWM (peak RSS) of a process, in MiB. */
export function memoryOf(pid: number): { rssMiB: number; hwmMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/**
 * Runs `start` (which starts a kubescribe process) with bench/support/probe.mjs preloaded into
 * kubescribe (it inherits the environment): a CPU profile written to `o.cpuProfileDir` when it
 * stops, a heap probe (retainedHeap) writing into `o.heapDir`, and/or a memory trace (memTrace)
 * in `o.memTraceDir`; `o.nodeOptions` are added to NODE_OPTIONS (V8 flags to compare).
 */
export async function probed<T>(o: { cpuProfileDir?: string; heapDir?: string; memTraceDir?: string; nodeOptions?: string }, start: () => Promise<T>): Promise<T> {
  if (!o.cpuProfileDir && !o.heapDir && !o.memTraceDir && !o.nodeOptions) return start();
  const keys = ['NODE_OPTIONS', 'KS_CPU_PROF_DIR', 'KS_HEAP_PROBE_DIR', 'KS_MEM_TRACE_DIR'];
  const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  process.env.NODE_OPTIONS = `--import ${new URL('./probe.mjs', import.meta.url).href}${o.nodeOptions ? ` ${o.nodeOptions}` : ''}`;
  if (o.cpuProfileDir) process.env.KS_CPU_PROF_DIR = o.cpuProfileDir;
  if (o.heapDir) process.env.KS_HEAP_PROBE_DIR = o.heapDir;
  if (o.memTraceDir) process.env.KS_MEM_TRACE_DIR = o.memTraceDir;
  try {
    return await start();
  } finally {
    for (const k of keys) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

export interface MemSample { at: number; rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number; vmRss: number; vmHwm: number }

/**
 * The samples a process started by probed({memTraceDir}) wrote, in order: its main thread's, or
 * with `thread` those of its worker threads (the webhook's: that thread's V8 heap; RSS is the
 * process's).
 */
export function memTrace(pid: number, dir: string, thread = false): MemSample[] {
  let text = '';
  try {
    const files = thread ? readdirSync(dir).filter((f) => f.startsWith(`mem-${pid}-thread`)) : [`mem-${pid}.jsonl`];
    text = files.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
  } catch {
    return [];
  }
  return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as MemSample).sort((a, b) => a.at - b.at);
}

export interface RetainedHeap { heapUsedMiB: number; heapTotalMiB: number; rssMiB: number; hwmMiB: number }

/** Asks a process started by probed({heapDir}) for a full GC and its memory right after it. */
export async function retainedHeap(pid: number, heapDir: string, timeoutMs = 30_000): Promise<RetainedHeap | undefined> {
  const file = join(heapDir, `heap-${pid}.json`);
  const before = Date.now();
  process.kill(pid, 'SIGUSR2');
  while (Date.now() - before < timeoutMs) {
    try {
      const m = JSON.parse(readFileSync(file, 'utf8')) as { heapUsed: number; heapTotal: number; vmRss: number; vmHwm: number; at: number };
      if (m.at >= before) return { heapUsedMiB: m.heapUsed / 2 ** 20, heapTotalMiB: m.heapTotal / 2 ** 20, rssMiB: m.vmRss / 2 ** 20, hwmMiB: m.vmHwm / 2 ** 20 };
    } catch { /* not written yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}
