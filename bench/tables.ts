// Prints the Markdown tables of docs/benchmarks.md from benchmark results: the summary against the
// open issue's targets, every figure, and the growth tables (value, with the load average in parentheses).
// Usage: npx tsx bench/tables.ts results.jsonl [more.jsonl ...]
import { readFileSync } from 'node:fs';
import type { BenchRecord } from './support/report.ts';
import { markdownGrowth, markdownSummary } from './support/tables.ts';
import { markdownTargets } from './support/targets.ts';

const files = process.argv.slice(2);
if (files.length === 0) throw new Error('usage: npx tsx bench/tables.ts results.jsonl [more.jsonl ...]');
const records = files.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as BenchRecord));
console.log(markdownTargets(records));
console.log('');
console.log(markdownSummary(records));
console.log('');
console.log(markdownGrowth(records));
