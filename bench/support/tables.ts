// Markdown tables from benchmark records (results.jsonl): the targets, and how each figure grows
// with the work. Used by run-all.ts and by `npx tsx bench/tables.ts results.jsonl` for the docs.
import { fmt, type BenchRecord } from './report.ts';

const row = (cells: string[]): string => `| ${cells.join(' | ')} |`;

/** The figures with a target (met or missed), then every other figure, one line each. */
export function markdownSummary(records: readonly BenchRecord[]): string {
  const lines = [row(['benchmark', 'figure', 'at', 'value', 'target', 'load avg']), row(['---', '---', '---', '---:', '---', '---:'])];
  const sorted = [...records].sort((a, b) => Number(!!b.target) - Number(!!a.target));
  for (const r of sorted) {
    const target = r.target ? `${r.met ? '**met**' : '**missed**'} (${r.target})` : '';
    lines.push(row([r.bench, r.figure, r.x ? `${r.x.value} ${r.x.name}${r.series ? `, ${r.series}` : ''}` : '', `${fmt(r.value)} ${r.unit}`, target, String(r.loadavg)]));
  }
  return lines.join('\n');
}

/** One table a benchmark: figures as rows, the amounts of work as columns (the last record wins). */
export function markdownGrowth(records: readonly BenchRecord[]): string {
  const out: string[] = [];
  const benches = [...new Set(records.filter((r) => r.x).map((r) => r.bench))];
  for (const bench of benches) {
    const rs = records.filter((r) => r.bench === bench && r.x);
    const xName = rs[0]!.x!.name;
    const xs = [...new Set(rs.map((r) => r.x!.value))].sort((a, b) => a - b);
    const label = (r: BenchRecord): string => `${r.figure}${r.series ? `, ${r.series}` : ''} (${r.unit})`;
    const figures = [...new Set(rs.map(label))];
    out.push(`**${bench}** (by ${xName})`, '', row(['figure', ...xs.map(String)]), row(['---', ...xs.map(() => '---:')]));
    for (const f of figures) {
      out.push(row([f, ...xs.map((x) => {
        const r = [...rs].reverse().find((q) => label(q) === f && q.x!.value === x);
        return r ? `${fmt(r.value)} (${r.loadavg})` : '';
      })]));
    }
    out.push('');
  }
  return out.join('\n');
}
