// The correlation store under a flood (issue 7, target 5): AdmissionReviews that no watch event
// will ever match (each under a key of its own), sent to the production admission route in a
// process of its own (bench/support/webhook-server.ts), in steps up to `--times` × maxEntries.
// After each step: the store's size (must stay ≤ maxEntries), the server's VmRSS, and its heap
// right after a full GC (must level off once the store is full: old entries are evicted, not kept).
// Usage: npx tsx bench/correlation-flood.ts [--max-entries 100000] [--times 3] [--steps-per-fill 2]
//        [--connections 10] [--plain] [--json results.jsonl]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon, { type Result } from 'autocannon';
import { arg, flag, fmt, load, record } from './support/report.ts';
import { makeServingCert, reviewBody, startServer, uniqueRequests, type ServerHandle } from './support/webhook-process.ts';

const maxEntries = Number(arg('max-entries', '100000'));
const times = Number(arg('times', '3'));
const stepsPerFill = Number(arg('steps-per-fill', '2'));
const connections = Number(arg('connections', '10'));
const tls = !flag('plain');

async function main(): Promise<void> {
  const certDir = await mkdtemp(join(tmpdir(), 'bench-flood-'));
  let server: ServerHandle | undefined;
  try {
    if (tls) await makeServingCert(certDir);
    server = await startServer('admission', { tls, maxEntries, certDir });
    await server.sample(false); // keep no per-request samples: only the store should grow
    const body = reviewBody(true);
    const requests = uniqueRequests(body);
    const step = Math.ceil(maxEntries / stepsPerFill);
    const before = await server.stats();
    console.log(`correlation flood: maxEntries ${maxEntries}, ${times * stepsPerFill} steps of ${step} unmatched reviews (${body.length} bytes each); server VmRSS ${fmt(before.rssBytes / 2 ** 20)} MiB at start; load ${load()}`);
    const rows: Array<{ sent: number; size: number; rss: number; heap: number; rssAfterGc: number }> = [];
    let sent = 0;
    for (let i = 0; i < times * stepsPerFill; i++) {
      const s = server;
      const r = await new Promise<Result>((resolve, reject) => {
        autocannon({ url: s.url, method: 'POST', body, requests, headers: { 'content-type': 'application/json' }, connections, amount: step }, (err, res) => (err ? reject(err) : resolve(res)));
      });
      sent += r['2xx'];
      const st = await s.stats();
      const g = await s.gcStats(); // after a full GC: what the server retains
      const mib = (b: number): number => b / 2 ** 20;
      rows.push({ sent, size: st.storeSize, rss: mib(st.rssBytes), heap: mib(g.heapUsedBytes), rssAfterGc: mib(g.rssBytes) });
      console.log(`  after ${String(sent).padStart(8)} reviews: store ${String(st.storeSize).padStart(7)} entries, VmRSS ${fmt(mib(st.rssBytes))} MiB (VmHWM ${fmt(mib(st.hwmBytes))});`
        + ` after a full GC: heap used ${fmt(mib(g.heapUsedBytes))} MiB, VmRSS ${fmt(mib(g.rssBytes))} MiB (${fmt(r['2xx'] / r.duration)} req/s, non-2xx ${r.non2xx}, errors ${r.errors}; load ${load()})`);
      const x = { name: 'reviews sent', value: sent };
      record({ bench: 'flood', figure: 'server VmRSS under a flood', value: mib(st.rssBytes), unit: 'MiB', x, note: `store ${st.storeSize} entries` });
      record({ bench: 'flood', figure: 'server heap retained (after a full GC)', value: mib(g.heapUsedBytes), unit: 'MiB', x, note: `store ${st.storeSize} entries` });
    }
    const maxSize = Math.max(...rows.map((r) => r.size));
    record({ bench: 'flood', figure: 'correlation store size, max seen', value: maxSize, unit: 'entries', target: `≤ maxEntries (${maxEntries})`, met: maxSize <= maxEntries, note: `after ${sent} unmatched reviews` });
    // Once full, what the server retains must level off (old entries evicted, not kept); RSS, which
    // also holds garbage V8 has not collected yet, is reported beside it.
    const full = rows.find((r) => r.sent >= maxEntries) ?? rows[0]!;
    const last = rows[rows.length - 1]!;
    const growth = last.heap / full.heap;
    record({ bench: 'flood', figure: 'retained heap growth after the store is full', value: growth, unit: '×', target: 'bounded (≤ 1.1× from full to the end)', met: growth <= 1.1,
      note: `heap after GC ${fmt(full.heap)} → ${fmt(last.heap)} MiB; VmRSS ${fmt(full.rss)} → ${fmt(last.rss)} MiB (after GC ${fmt(full.rssAfterGc)} → ${fmt(last.rssAfterGc)}) from ${full.sent} to ${last.sent} reviews` });
  } finally {
    await server?.stop();
    await rm(certDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
