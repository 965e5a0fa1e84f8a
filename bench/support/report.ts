// What every benchmark prints and keeps: percentiles of a sample, the load average next to each
// figure (the machines are shared and noisy: a figure without the load it was taken under means
// little), and one JSON record per figure appended to the file named by --json (or
// KS_BENCH_JSON), from which run-all.ts prints its summary and plot.py draws the growth plot.
import { appendFileSync } from 'node:fs';
import { loadavg } from 'node:os';

export interface Summary { n: number; p50: number; p90: number; p99: number; max: number; mean: number }

/** Percentiles by nearest rank of an unsorted sample (NaN for an empty one). */
export function summarize(values: readonly number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number): number => (s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!);
  const mean = s.length === 0 ? NaN : s.reduce((a, b) => a + b, 0) / s.length;
  return { n: s.length, p50: at(50), p90: at(90), p99: at(99), max: s.length === 0 ? NaN : s[s.length - 1]!, mean };
}

/** The 1-minute load average, to print next to a figure. */
export function load(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}

export interface BenchRecord {
  /** The benchmark script (webhook, change-latency, snapshot-memory, ...). */
  bench: string;
  /** What was measured, e.g. `ratio admission/bare req/s`. */
  figure: string;
  value: number;
  unit: string;
  /** The work it was measured at, for the growth table (objects, changes/s, requests). */
  x?: { name: string; value: number };
  /** What else was fixed while x varied (e.g. `1000 objects` for a figure by changes/s): one line a series. */
  series?: string;
  target?: string;
  met?: boolean;
  loadavg: number;
  note?: string;
}

const jsonArg = (): string | undefined => {
  const i = process.argv.indexOf('--json');
  return i >= 0 ? process.argv[i + 1] : process.env.KS_BENCH_JSON;
};

/** Prints a figure with its load average and appends it to the JSON results file, if any. */
export function record(r: Omit<BenchRecord, 'loadavg'> & { loadavg?: number }): BenchRecord {
  const full: BenchRecord = { ...r, loadavg: r.loadavg ?? load() };
  const target = full.target ? `  target ${full.target}: ${full.met ? 'met' : 'MISSED'}` : '';
  const at = full.x ? ` @ ${full.x.value} ${full.x.name}${full.series ? `, ${full.series}` : ''}` : '';
  console.log(`  = ${full.figure}${at}: ${fmt(full.value)} ${full.unit}  (load ${full.loadavg})${target}${full.note ? `  [${full.note}]` : ''}`);
  const file = jsonArg();
  if (file) appendFileSync(file, JSON.stringify({ ...full, at: new Date().toISOString() }) + '\n');
  return full;
}

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(v === Math.round(v) ? 0 : 2);
}

/** `--name value` from the command line, or the default. */
export function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

/**
 * `--NAME 'flags…'`: node's flags before kubescribe's program, split on spaces; `--NAME ''` none.
 * Absent: undefined, and the instance runs with the image's (e2e/stack/image-env.ts).
 */
export function nodeArgs(name = 'node-args'): string[] | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  return (process.argv[i + 1] ?? '').split(/\s+/).filter(Boolean);
}

/**
 * `--NAME 'a.b=value,c=value'`: settings to change in an instance's settings file (values as
 * JSON, else strings), e.g. `--baseline-set memory.optimizeForSize=false`; undefined when absent.
 */
export function settingsPatch(name: string): ((s: Record<string, unknown>) => void) | undefined {
  const spec = arg(name, '');
  if (!spec) return undefined;
  const pairs = spec.split(',').map((p) => {
    const i = p.indexOf('=');
    if (i < 1) throw new Error(`--${name}: expected path=value, got ${p}`);
    const raw = p.slice(i + 1);
    let value: unknown = raw;
    try { value = JSON.parse(raw); } catch { /* a string */ }
    return { path: p.slice(0, i).split('.'), value };
  });
  return (s) => {
    for (const { path, value } of pairs) {
      let o = s;
      for (const k of path.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
      o[path.at(-1)!] = value;
    }
  };
}

export function numbers(name: string, def: string): number[] {
  return arg(name, def).split(',').filter(Boolean).map(Number);
}

export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
