// The performance targets of the open issue (issue 19), each matched to the benchmark figure that
// measures it: `make bench` prints one table of them with the figure, its load average and
// met / NOT MET / not measured. The thresholds live here, not in the scripts, so that a figure a
// script records under an older target (issue 7's) is judged by today's.
import { fmt, type BenchRecord } from './report.ts';

export interface Target {
  /** The issue's target number. */
  id: string;
  text: string;
  bench: string;
  figure: RegExp;
  /** Only figures taken at this amount of work (x.value), e.g. 100,000 objects. */
  at?: number;
  /** One row for each amount of work measured (x.value), e.g. each rate. */
  perX?: boolean;
  /** Figures recorded with a series (a baseline build, ...) are not ours: skipped unless set. */
  withSeries?: boolean;
  /** Several matching figures: the worst counts. Undefined: a figure to report, without a target. */
  ok?: (v: number) => boolean;
  /** The script's own verdict counts too (it knows what the value does not say: failed requests). */
  andRecordMet?: boolean;
  worst: 'max' | 'min';
}

const below = (n: number) => (v: number): boolean => v < n;
const atMost = (n: number) => (v: number): boolean => v <= n;
const atLeast = (n: number) => (v: number): boolean => v >= n;

export const ISSUE_19: readonly Target[] = [
  { id: '1', text: 'burst of 10,000 creates: peak VmRSS < 150 MiB', bench: 'burst', figure: /^peak VmRSS \(VmHWM\)/, ok: below(150), worst: 'max' },
  { id: '1', text: 'burst: all in the remote ≤ 30 s after the last create', bench: 'burst', figure: /^last create → all in the remote/, ok: atMost(30), worst: 'max' },
  { id: '1', text: '100,000 watched objects: VmRSS < 250 MiB', bench: 'memory', figure: /^VmRSS after sync$/, at: 100_000, ok: below(250), worst: 'max' },
  { id: '2', text: 'PATCH p99 with the webhook ÷ without (paired) ≤ 1.10', bench: 'apiserver-latency', figure: /^PATCH p99, kubescribe running ÷ unrecorded namespace, paired/, perX: true, ok: atMost(1.1), andRecordMet: true, worst: 'max' },
  { id: '2', text: 'the same ratio without any webhook (A/A: the noise floor)', bench: 'apiserver-latency', figure: /^PATCH p99, no webhook ÷ unrecorded namespace, paired/, perX: true, worst: 'max' },
  { id: '2', text: 'the same ratio with a minimal webhook instead (a route that only answers allowed): any webhook\'s cost', bench: 'apiserver-latency', figure: /^PATCH p99, minimal webhook ÷ unrecorded namespace, paired/, perX: true, worst: 'max' },
  { id: '2', text: 'PATCH p50 with the webhook ÷ without (paired)', bench: 'apiserver-latency', figure: /^PATCH p50, kubescribe running ÷ unrecorded namespace, paired/, perX: true, worst: 'max' },
  { id: '2', text: 'PATCH p50 with a minimal webhook ÷ without (paired)', bench: 'apiserver-latency', figure: /^PATCH p50, minimal webhook ÷ unrecorded namespace, paired/, perX: true, worst: 'max' },
  { id: '2', text: 'p50 added while kubescribe is stopped (black hole, chart timeout)', bench: 'apiserver-latency', figure: /^PATCH p50 added, stopped, black hole/, perX: true, worst: 'max' },
  { id: '3', text: 'admission p99, 3 replicas ÷ 1 replica ≤ 1.2', bench: 'replicas', figure: /^admission p99 3 replicas ÷ 1 replica$/, ok: atMost(1.2), worst: 'max' },
  { id: '3', text: 'event-loop delay max of the loop that answers admission (the webhook thread), any replica ≤ 20 ms', bench: 'replicas', figure: /^webhook thread event-loop delay max/, ok: atMost(20), worst: 'max' },
  { id: '3', text: 'the same delay in an idle process beside them (the machine\'s floor, same runs)', bench: 'replicas', figure: /^event-loop delay max of an idle process/, worst: 'max' },
  { id: '3', text: 'forced GC pause after a large snapshot', bench: 'replicas', figure: /^forced GC pause/, worst: 'max' },
  // Target 4's kill -9 under load (0 lost, 0 doubled, every author kept) is e2e/scale-out.e2e.ts, a test.
  { id: '4', text: 'scale-out: commits/s, 3 replicas ÷ 1 leader, 6 destinations ≥ 2.5× (where CPU allows)', bench: 'scale-out', figure: /^ratio 3 replicas\/1 leader commits\/s/, ok: atLeast(2.5), worst: 'min' },
  { id: '4', text: 'scale-out: commits per CPU-second, 3 replicas ÷ 1 leader', bench: 'scale-out', figure: /^ratio commits per CPU-second/, worst: 'min' },
  { id: '5', text: 'webhook ÷ bare route, median req/s ≥ 0.9', bench: 'webhook', figure: /^ratio admission\/bare req\/s/, ok: atLeast(0.9), worst: 'min' },
  { id: '5', text: 'webhook ÷ bare route, by server CPU per request ≥ 0.9', bench: 'webhook', figure: /^ratio bare\/admission server CPU per request/, ok: atLeast(0.9), worst: 'min' },
  { id: '6', text: 'info log lines at steady state = 0', bench: 'change-latency', figure: /^info log lines at steady state/, ok: atMost(0), worst: 'max' },
];

export interface TargetRow { id: string; text: string; figure: string; load: string; verdict: 'met' | 'NOT MET' | 'not measured' | '' }

/** Judges the records against the targets: the worst matching figure of each (or of each x). */
export function judge(records: readonly BenchRecord[], targets: readonly Target[] = ISSUE_19): TargetRow[] {
  const rows: TargetRow[] = [];
  for (const t of targets) {
    const hits = records.filter((r) => r.bench === t.bench && t.figure.test(r.figure) && (t.withSeries || !r.series)
      && (t.at === undefined || r.x?.value === t.at));
    const groups = t.perX ? [...new Set(hits.map((r) => r.x?.value))].sort((a, b) => (a ?? 0) - (b ?? 0)).map((x) => hits.filter((r) => r.x?.value === x)) : [hits];
    for (const g of groups) {
      const label = t.perX && g[0]?.x ? `${t.text} (${g[0].x.value} ${g[0].x.name})` : t.text;
      if (g.length === 0) {
        rows.push({ id: t.id, text: label, figure: '–', load: '–', verdict: t.ok ? 'not measured' : '' });
        continue;
      }
      const worst = g.reduce((a, b) => ((t.worst === 'max' ? b.value > a.value : b.value < a.value) ? b : a));
      const verdict = !t.ok ? '' : Number.isFinite(worst.value) && t.ok(worst.value) && !(t.andRecordMet && worst.met === false) ? 'met' : 'NOT MET';
      rows.push({ id: t.id, text: label, figure: `${fmt(worst.value)} ${worst.unit}${worst.note ? ` (${worst.note})` : ''}`, load: String(worst.loadavg), verdict });
    }
  }
  return rows;
}

/** The table `make bench` prints (and docs/benchmarks.md shows). */
export function markdownTargets(records: readonly BenchRecord[], targets: readonly Target[] = ISSUE_19): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  return ['| # | target | figure (worst of the run) | load avg | |', '| --- | --- | --- | ---: | --- |',
    ...judge(records, targets).map((r) => `| ${r.id} | ${cell(r.text)} | ${cell(r.figure)} | ${r.load} | ${r.verdict === 'met' ? 'met' : r.verdict ? `**${r.verdict}**` : ''} |`)].join('\n');
}
