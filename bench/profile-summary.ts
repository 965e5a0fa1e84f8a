// Summarizes a V8 CPU profile (`node --cpu-prof`): the functions with the most self time, and the
// inclusive time of functions whose name matches a pattern. For finding why a target is missed.
// --long-tasks MS: the stretches where the event loop never went idle for MS or more (what an
// admission review arriving then waits behind), each with the functions that took most of it.
// Usage: npx tsx bench/profile-summary.ts FILE.cpuprofile [--top 30] [--match 'sanitize|canonical'] [--callers '#q']
//        [--long-tasks 20]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { arg } from './support/report.ts';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

const file = process.argv[2];
if (!file) throw new Error('usage: npx tsx bench/profile-summary.ts FILE.cpuprofile [--top N] [--match REGEX]');
const top = Number(arg('top', '30'));
const match = arg('match', '');
const callers = arg('callers', '');
const longTasks = Number(arg('long-tasks', '0'));
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const selfUs = new Map<number, number>();
p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
const total = p.timeDeltas.reduce((a, b) => a + b, 0);

const label = (n: Node): string => {
  const url = n.callFrame.url.replace(/^file:\/\//, '');
  return `${n.callFrame.functionName || '(anonymous)'} ${url ? relative(process.cwd(), url) : ''}:${n.callFrame.lineNumber + 1}`;
};
const self = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  self.set(label(n), (self.get(label(n)) ?? 0) + us);
}
const pct = (us: number): string => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
console.log('self time:');
for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${name}`);

if (match) {
  // Inclusive time: a sample counts once for every distinct matching function on its stack.
  const re = new RegExp(match);
  const incl = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      if (re.test(n.callFrame.functionName)) seen.add(label(n));
    }
    for (const s of seen) incl.set(s, (incl.get(s) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  console.log(`inclusive time of functions matching /${match}/:`);
  for (const [name, us] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${name}`);
}

if (callers) {
  // Where the self time of matching functions comes from: their call stacks, heaviest first.
  const re = new RegExp(callers);
  const stacks = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    if (!re.test(n.callFrame.functionName)) continue;
    const chain: string[] = [];
    for (let cur = parent.get(id); cur !== undefined && chain.length < 6; cur = parent.get(cur)) chain.push(label(byId.get(cur)!));
    const key = `${label(n)}  <  ${chain.join('  <  ')}`;
    stacks.set(key, (stacks.get(key) ?? 0) + us);
  }
  console.log(`callers of /${callers}/:`);
  for (const [k, us] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${k}`);
}

if (longTasks > 0) {
  // Consecutive samples not in (idle): one task (or several back to back) that kept the loop busy.
  const idle = new Set(p.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  const tasks: Array<{ at: number; us: number; self: Map<string, number> }> = [];
  let cur: { at: number; us: number; self: Map<string, number> } | undefined;
  let t = p.startTime;
  p.samples.forEach((id, i) => {
    const d = p.timeDeltas[i] ?? 0;
    t += d;
    if (idle.has(id)) {
      if (cur && cur.us >= longTasks * 1000) tasks.push(cur);
      cur = undefined;
      return;
    }
    cur ??= { at: t, us: 0, self: new Map() };
    cur.us += d;
    // The frame that names the work: the innermost one from our code or a dependency, else the leaf.
    let name = label(byId.get(id)!);
    for (let c: number | undefined = id; c !== undefined; c = parent.get(c)) {
      const url = byId.get(c)!.callFrame.url;
      if (url.includes('/src/') || url.includes('/dist/') || url.includes('node_modules')) { name = label(byId.get(c)!); break; }
    }
    cur.self.set(name, (cur.self.get(name) ?? 0) + d);
  });
  const busy = tasks.reduce((a, x) => a + x.us, 0);
  console.log(`stretches without idle ≥ ${longTasks} ms: ${tasks.length}, ${(busy / 1e3).toFixed(0)} ms in all; longest first:`);
  for (const x of [...tasks].sort((a, b) => b.us - a.us).slice(0, top)) {
    const heavy = [...x.self].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([n, us]) => `${(us / 1e3).toFixed(1)} ms ${n}`).join('; ');
    console.log(`  ${(x.us / 1e3).toFixed(1).padStart(7)} ms at +${((x.at - p.startTime) / 1e6).toFixed(2)} s: ${heavy}`);
  }
}
