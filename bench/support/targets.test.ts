import { describe, expect, it } from 'vitest';
import type { BenchRecord } from './report.ts';
import { judge, markdownTargets, type Target } from './targets.ts';

const rec = (r: Partial<BenchRecord> & Pick<BenchRecord, 'bench' | 'figure' | 'value'>): BenchRecord => ({ unit: 'MiB', loadavg: 1.5, ...r });

describe('the issue targets judged from benchmark records', () => {
  const targets: Target[] = [
    { id: '1', text: 'peak < 150 MiB', bench: 'burst', figure: /^peak/, ok: (v) => v < 150, worst: 'max' },
    { id: '2', text: 'p99 ratio ≤ 1.1', bench: 'api', figure: /^p99/, perX: true, ok: (v) => v <= 1.1, worst: 'max' },
    { id: '5', text: 'ratio ≥ 0.9', bench: 'webhook', figure: /^ratio/, ok: (v) => v >= 0.9, worst: 'min' },
    { id: '3', text: 'GC pause', bench: 'replicas', figure: /^gc/, worst: 'max' },
    { id: '2', text: 'ratio, no failures', bench: 'api2', figure: /^r/, ok: (v) => v <= 1.1, andRecordMet: true, worst: 'max' },
  ];

  it('takes the worst figure, judges it by the target, and says when a target was not measured', () => {
    const rows = judge([
      rec({ bench: 'burst', figure: 'peak VmRSS', value: 140, loadavg: 2 }),
      rec({ bench: 'burst', figure: 'peak VmRSS', value: 160, loadavg: 3 }),
      rec({ bench: 'burst', figure: 'peak VmRSS', value: 90, series: 'baseline' }),
      rec({ bench: 'api', figure: 'p99 ratio', value: 1.05, unit: '×', x: { name: 'changes/s', value: 100 } }),
      rec({ bench: 'api', figure: 'p99 ratio', value: 1.3, unit: '×', x: { name: 'changes/s', value: 10 } }),
      rec({ bench: 'replicas', figure: 'gc pause', value: 120, unit: 'ms' }),
      rec({ bench: 'api2', figure: 'r', value: 1.01, unit: '×', met: false, note: '429 ×1495' }),
    ], targets);
    expect(rows.map((r) => [r.text, r.figure, r.load, r.verdict])).toEqual([
      ['peak < 150 MiB', '160 MiB', '3', 'NOT MET'],
      ['p99 ratio ≤ 1.1 (10 changes/s)', '1.30 ×', '1.5', 'NOT MET'],
      ['p99 ratio ≤ 1.1 (100 changes/s)', '1.05 ×', '1.5', 'met'],
      ['ratio ≥ 0.9', '–', '–', 'not measured'],
      ['GC pause', '120 ms', '1.5', ''],
      ['ratio, no failures', '1.01 × (429 ×1495)', '1.5', 'NOT MET'],
    ]);
  });

  it('prints one Markdown row a target, with met or NOT MET', () => {
    const md = markdownTargets([rec({ bench: 'webhook', figure: 'ratio a/b', value: 0.93, unit: '×', note: 'medians 9 | 10' })], targets);
    expect(md).toContain('| 5 | ratio ≥ 0.9 | 0.93 × (medians 9 \\| 10) | 1.5 | met |');
    expect(md).toContain('| 1 | peak < 150 MiB | – | – | **not measured** |');
  });
});
