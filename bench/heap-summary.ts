// Summarizes a V8 heap snapshot (.heapsnapshot, e.g. from the probe of bench/snapshot-memory.ts
// with KS_HEAP_SNAPSHOT=1): self size and count by kind of object, largest first; with --path,
// the chain of references that keeps a string matching REGEX alive (from a GC root down), and how
// much is reachable from the first array on that chain. For finding what a process keeps per
// watched object.
// Usage: npx tsx bench/heap-summary.ts FILE.heapsnapshot [--top 40] [--path REGEX [--nth 500]]
import { readFileSync } from 'node:fs';
import { arg } from './support/report.ts';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: npx tsx bench/heap-summary.ts FILE.heapsnapshot [--top 40] [--path REGEX [--nth 500]]');
const top = Number(arg('top', '40'));
const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const { node_fields: nf, node_types: [ntypes], edge_fields: ef, edge_types: [etypes] } = s.snapshot.meta;
const N = nf.length;
const E = ef.length;
const [iType, iName, iSize, iEdges] = ['type', 'name', 'self_size', 'edge_count'].map((f) => nf.indexOf(f)) as [number, number, number, number];
const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => ef.indexOf(f)) as [number, number, number];
const count = s.nodes.length / N;
const type = (n: number): string => ntypes[s.nodes[n * N + iType]!]!;
const name = (n: number): string => s.strings[s.nodes[n * N + iName]!]!;
const label = (n: number): string => `${type(n)} ${name(n).slice(0, 50).replace(/\n/g, ' ')}`;

const groups = new Map<string, { size: number; count: number }>();
let total = 0;
for (let n = 0; n < count; n++) {
  const t = type(n);
  const key = t === 'object' || t === 'native' || t === 'closure' ? `${t} ${name(n).slice(0, 60)}` : t;
  const size = s.nodes[n * N + iSize]!;
  total += size;
  const g = groups.get(key) ?? { size: 0, count: 0 };
  g.size += size;
  g.count++;
  groups.set(key, g);
}
console.log(`${file}: ${(total / 2 ** 20).toFixed(1)} MiB in ${count} objects`);
for (const [k, g] of [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, top)) {
  console.log(`${(g.size / 2 ** 20).toFixed(2).padStart(8)} MiB ${String(g.count).padStart(9)}×  ${k}`);
}

const pathRe = arg('path', '');
if (pathRe) {
  const firstEdge = new Int32Array(count + 1);
  for (let n = 0; n < count; n++) firstEdge[n + 1] = firstEdge[n]! + s.nodes[n * N + iEdges]!;
  const edgesOf = function* (n: number): Generator<[number, string, string]> {
    for (let k = firstEdge[n]!; k < firstEdge[n + 1]!; k++) {
      const t = etypes[s.edges[k * E + eType]!]!;
      const nm = s.edges[k * E + eName]!;
      yield [s.edges[k * E + eTo]! / N, t, t === 'element' || t === 'hidden' ? `[${nm}]` : s.strings[nm]!];
    }
  };
  const parents: Array<Array<[number, string]>> = Array.from({ length: count }, () => []);
  for (let n = 0; n < count; n++) for (const [to, t, nm] of edgesOf(n)) if (t !== 'weak') parents[to]!.push([n, `${t}:${nm}`]);
  const re = new RegExp(pathRe);
  const nth = Number(arg('nth', '500'));
  let start = -1;
  for (let n = 0, hits = 0; n < count && start < 0; n++) if (type(n) === 'string' && re.test(name(n)) && ++hits === nth) start = n;
  if (start < 0) throw new Error(`no ${nth}th string matches /${pathRe}/`);
  const { via, root } = retainers(start, parents);
  console.log(`\nwhat keeps ${label(start)} alive:`);
  for (let n = root; n !== start && n >= 0; n = via.get(n)![0]) console.log(`  ${label(n)}  --${via.get(n)![1]}-->`);
  console.log(`  ${label(start)}`);
  // The last array on the path (nearest the string) usually holds one entry per watched object.
  let last = -1;
  for (let n = root; n !== start && n >= 0; n = via.get(n)![0]) if (name(n) === 'Array') last = n;
  if (last >= 0) {
    const seen = new Set([last]);
    const stack = [last];
    let size = 0;
    while (stack.length > 0) {
      const n = stack.pop()!;
      size += s.nodes[n * N + iSize]!;
      for (const [to, t] of edgesOf(n)) if ((t === 'property' || t === 'element') && !seen.has(to)) { seen.add(to); stack.push(to); }
    }
    console.log(`reachable from that Array (properties and elements): ${(size / 2 ** 20).toFixed(1)} MiB in ${seen.size} objects`);
  }
}

/** The shortest path from a GC root (a synthetic node) to `start`, walking retainers breadth first. */
function retainers(start: number, parents: ReadonlyArray<ReadonlyArray<[number, string]>>): { via: Map<number, [number, string]>; root: number } {
  const via = new Map<number, [number, string]>([[start, [-1, '']]]);
  const queue = [start];
  let root = -1;
  while (queue.length > 0 && root < 0) {
    const n = queue.shift()!;
    if (type(n) === 'synthetic') root = n;
    else for (const [p, e] of parents[n]!) if (!via.has(p)) { via.set(p, [n, e]); queue.push(p); }
  }
  return { via, root };
}

// --largest N: the N largest objects (strings, Buffers' memory, arrays...) with what keeps each alive.
const largest = Number(arg('largest', '0'));
if (largest > 0) {
  const firstEdge = new Int32Array(count + 1);
  for (let n = 0; n < count; n++) firstEdge[n + 1] = firstEdge[n]! + s.nodes[n * N + iEdges]!;
  const parents: Array<Array<[number, string]>> = Array.from({ length: count }, () => []);
  for (let n = 0; n < count; n++) {
    for (let k = firstEdge[n]!; k < firstEdge[n + 1]!; k++) {
      const t = etypes[s.edges[k * E + eType]!]!;
      if (t === 'weak') continue;
      const nm = s.edges[k * E + eName]!;
      parents[s.edges[k * E + eTo]! / N]!.push([n, `${t}:${t === 'element' || t === 'hidden' ? nm : s.strings[nm]}`]);
    }
  }
  const bySize = Array.from({ length: count }, (_, n) => n).sort((a, b) => s.nodes[b * N + iSize]! - s.nodes[a * N + iSize]!).slice(0, largest);
  for (const start of bySize) {
    const { via, root } = retainers(start, parents);
    const chain: string[] = [];
    for (let n = via.get(start)![0] === -1 && root < 0 ? -1 : root; n !== start && n >= 0; n = via.get(n)![0]) chain.push(`${label(n).slice(0, 40)} -${via.get(n)![1].slice(0, 30)}->`);
    console.log(`\n${(s.nodes[start * N + iSize]! / 1024).toFixed(0)} KiB ${label(start)}\n  ${chain.slice(-8).join(' ')}`);
  }
}
