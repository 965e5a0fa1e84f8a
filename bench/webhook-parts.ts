// Where the admission route's CPU goes beyond the bare route's (issue 19, target 5), in one process
// without HTTP or TLS: the work a request does, added one part at a time, each run for the same
// number of reviews of the same ~21 KB UPDATE (a uid and old resourceVersion of their own):
//   parse     JSON.parse of the body — what the bare route does too (with TLS and HTTP around it)
//   + route   decode + the handler with a fingerprint and a store that do nothing
//   + hash    + sanitizedContentHash (the fingerprint app.ts uses)
//   + store   + a real CorrelationStore filled to 100,000 entries (the default maxEntries) first
// CPU time (process.cpuUsage: every thread, so the garbage collector's helpers count too), the
// steps in turn for several rounds, the median of each. The differences are what each part adds
// to a request; bench/webhook.ts measures the whole servers.
// Usage: npx tsx bench/webhook-parts.ts [--requests 20000] [--rounds 3] [--json results.jsonl]
import { Registry } from 'prom-client';
import { createAdmissionHandler, decodeAdmissionReview, type AdmissionHandler } from '../src/admission/index.ts';
import { CorrelationStore } from '../src/correlation/index.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { compileSanitizeOptions, sanitizedContentHash } from '../src/sanitize/index.ts';
import { arg, load, record, summarize } from './support/report.ts';
import { reviewBody } from './support/webhook-process.ts';

const requests = Number(arg('requests', '20000'));
const rounds = Number(arg('rounds', '3'));
const parts = reviewBody(true).split('[<id>]');
const options = compileSanitizeOptions({ secretKey: Buffer.alloc(32, 1) });
let next = 0;
// Bodies made ahead, so that building them is not measured; each used once per pass.
const bodies = (): string[] => Array.from({ length: requests }, () => parts.join(`r${(next++).toString(36)}`));

function cpuPerRequest(handler: AdmissionHandler | undefined): number {
  const run = (list: string[]): void => {
    for (const b of list) {
      const parsed: unknown = JSON.parse(b);
      if (handler) handler.handle(decodeAdmissionReview(parsed));
    }
  };
  const list = bodies();
  const t0 = process.cpuUsage();
  run(list);
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / requests;
}

const metrics = createMetrics(new Registry());
const noStore = { record(): void {} };
const hash = (obj: Parameters<typeof sanitizedContentHash>[0]): string => sanitizedContentHash(obj, options);
function fullStore(): CorrelationStore {
  const s = new CorrelationStore({ ttlMs: 5 * 60_000, maxEntries: 100_000 });
  for (let i = 0; i < 100_000; i++) s.record(`UPDATE\u001fapps\u001fdeployments\u001fshop\u001fweb-${i}\u001fuid-${i}\u001f${i}\u001f${'0'.repeat(64)}`, { username: 'alice', groups: ['devs'] });
  return s;
}
const steps: Array<[string, AdmissionHandler | undefined]> = [
  ['parse', undefined],
  ['+ route', createAdmissionHandler({ sink: noStore, fingerprint: () => 'x', onRecord: () => metrics.correlationsStored.inc() })],
  ['+ hash', createAdmissionHandler({ sink: noStore, fingerprint: hash, onRecord: () => metrics.correlationsStored.inc() })],
  ['+ store', createAdmissionHandler({ sink: fullStore(), fingerprint: hash, onRecord: () => metrics.correlationsStored.inc() })],
];

console.log(`webhook parts: ${requests} reviews of ${parts.join('0').length} bytes a step, ${rounds} rounds; load average ${load()}`);
for (const [, handler] of steps) cpuPerRequest(handler); // warm-up (JIT)
const samples = steps.map((): number[] => []);
for (let r = 0; r < rounds; r++) {
  steps.forEach(([, handler], i) => samples[i]!.push(cpuPerRequest(handler)));
  console.log(`  round ${r + 1}: ${steps.map(([name], i) => `${name} ${samples[i]![r]!.toFixed(1)}`).join(', ')} µs  (load ${load()})`);
}
let before = 0;
steps.forEach(([name], i) => {
  const us = summarize(samples[i]!).p50;
  record({ bench: 'webhook-parts', figure: `CPU a request, ${name}`, value: us, unit: 'µs', note: before ? `${name.slice(2)} adds ${(us - before).toFixed(1)} µs` : 'the bare route parses too' });
  before = us;
});
