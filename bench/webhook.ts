// Webhook throughput and latency (issue 7, target 1). Two servers, each in a process of its own
// and set up alike (bench/support/webhook-server.ts): the production admission route and a bare
// fastify route that only answers `allowed`. autocannon runs here, in a third process.
//   1. throughput: rounds of bare and admission in turn (the order alternates), at saturation;
//      the ratio is median(admission req/s) / median(bare req/s). Target ≥ 0.8.
//   2. latency: a fixed rate (10, 100, 1000 req/s), server-side times from the servers:
//      the handler (`observe`: decode, sanitized hash, record), body parsed → response written
//      (preValidation→onResponse) and the whole request (onRequest→onResponse, which also waits
//      for the body to arrive). Target: handler p99 < 1 ms at 1,000 req/s.
// Every request records under a key of its own (new uid and old resourceVersion), as real traffic.
// Usage: npx tsx bench/webhook.ts [--rounds 3] [--seconds 5] [--rates 10,100,1000] [--rate-seconds 10]
//        [--connections 10] [--plain] [--profile DIR] [--json results.jsonl]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon, { type Result } from 'autocannon';
import { deploymentFixture } from '../src/sanitize/testing/fixtures.ts';
import { arg, flag, fmt, load, numbers, record, summarize } from './support/report.ts';
import { makeServingCert, reviewBody, startServer, uniqueRequests, type ServerHandle } from './support/webhook-process.ts';

const rounds = Number(arg('rounds', '3'));
const seconds = Number(arg('seconds', '5'));
const rates = numbers('rates', '10,100,1000');
const rateSeconds = Number(arg('rate-seconds', '10'));
const connections = Number(arg('connections', '10'));
const tls = !flag('plain');
// --profile DIR: the servers write CPU profiles there (node --cpu-prof) when they stop.
const cpuProfileDir = arg('profile', '') || undefined;

const body = reviewBody(true);
const fire = (url: string, o: { duration: number; overallRate?: number }): Promise<Result> => new Promise((resolve, reject) => {
  autocannon({
    url, method: 'POST', body, requests: uniqueRequests(body), headers: { 'content-type': 'application/json' },
    connections, pipelining: 1, duration: o.duration, ...(o.overallRate ? { overallRate: o.overallRate } : {}),
  }, (err, r) => (err ? reject(err) : resolve(r)));
});

const rateOf = (r: Result): number => r['2xx'] / r.duration;

async function throughput(s: ServerHandle): Promise<{ rps: number; cpuPerRequest: number; load: number }> {
  await s.sample(false);
  await s.reset();
  const r = await fire(s.url, { duration: seconds });
  const st = await s.stats();
  await s.sample(true);
  const l = load();
  const cpuPerRequest = st.cpuMicros / st.requests;
  console.log(`  ${s.mode.padEnd(9)} ${fmt(rateOf(r)).padStart(7)} req/s  server CPU ${cpuPerRequest.toFixed(0)} µs/request  client p50 ${r.latency.p50} ms p99 ${r.latency.p99} ms  non-2xx ${r.non2xx} errors ${r.errors}  (load ${l})`);
  return { rps: rateOf(r), cpuPerRequest, load: l };
}

async function atRate(s: ServerHandle, rate: number): Promise<void> {
  await s.reset();
  const r = await fire(s.url, { duration: rateSeconds, overallRate: rate });
  const st = await s.stats();
  const l = load();
  const x = { name: 'req/s', value: rate };
  const line = (name: string, v: number[]): string => { const m = summarize(v); return `${name} p50 ${m.p50.toFixed(3)} p99 ${m.p99.toFixed(3)} max ${m.max.toFixed(2)} ms`; };
  console.log(`  ${s.mode.padEnd(9)} at ${rate} req/s (sent ${fmt(rateOf(r))}/s, ${st.server.length} samples; client p99 ${r.latency.p99} ms; load ${l})`);
  if (s.mode === 'admission') console.log(`    ${line('handler (observe: decode, sanitized hash, record)  ', st.handler.map((v) => v * 1000))}`);
  console.log(`    ${line('body parsed → response written (preValidation→onResponse)', st.afterParse)}`);
  console.log(`    ${line('request received → response written (onRequest→onResponse)', st.server)}`);
  const mode = s.mode;
  if (mode === 'admission') {
    const h = summarize(st.handler.map((v) => v * 1000)).p99;
    record({ bench: 'webhook', figure: 'admission handler p99 (observe)', value: h, unit: 'ms', x, loadavg: l, ...(rate === 1000 ? { target: 'p99 < 1 ms at 1,000 req/s', met: h < 1 } : {}) });
  }
  record({ bench: 'webhook', figure: `${mode} body parsed→response p99`, value: summarize(st.afterParse).p99, unit: 'ms', x, loadavg: l });
  record({ bench: 'webhook', figure: `${mode} onRequest→onResponse p99`, value: summarize(st.server).p99, unit: 'ms', x, loadavg: l });
}

async function main(): Promise<void> {
  const certDir = await mkdtemp(join(tmpdir(), 'bench-webhook-'));
  const servers: ServerHandle[] = [];
  try {
    if (tls) await makeServingCert(certDir);
    const admission = await startServer('admission', { tls, maxEntries: 100_000, certDir, cpuProfileDir });
    servers.push(admission);
    const bare = await startServer('bare', { tls, maxEntries: 100_000, certDir, cpuProfileDir });
    servers.push(bare);
    console.log(`webhook: ${tls ? 'TLS' : 'plain HTTP'}; review ${body.length} bytes (a ${JSON.stringify(deploymentFixture()).length}-byte Deployment as object and oldObject);`
      + ` ${connections} connections; load average ${load()}`);

    // Warm-up (JIT, TLS sessions, the store filling): not measured.
    await fire(bare.url, { duration: 2 });
    await fire(admission.url, { duration: 2 });

    console.log(`throughput: ${rounds} rounds of ${seconds} s each, at saturation`);
    const ours: Array<{ rps: number; cpuPerRequest: number }> = [];
    const base: Array<{ rps: number; cpuPerRequest: number }> = [];
    const loads: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const order = i % 2 === 0 ? [bare, admission] : [admission, bare];
      for (const s of order) {
        const r = await throughput(s);
        (s === admission ? ours : base).push(r);
        loads.push(r.load);
      }
    }
    const med = (v: number[]): number => summarize(v).p50;
    const ratio = med(ours.map((o) => o.rps)) / med(base.map((o) => o.rps));
    const l = Math.max(...loads);
    record({ bench: 'webhook', figure: 'ratio admission/bare req/s', value: ratio, unit: '×', target: '≥ 0.8', met: ratio >= 0.8, loadavg: l,
      note: `medians ${fmt(med(ours.map((o) => o.rps)))} / ${fmt(med(base.map((o) => o.rps)))} req/s; per round ${ours.map((o, k) => (o.rps / base[k]!.rps).toFixed(2)).join(', ')}` });
    // The same comparison by server CPU per request: what one core can serve, less sensitive to
    // the load generator and to other processes than req/s.
    const cpuOurs = med(ours.map((o) => o.cpuPerRequest));
    const cpuBase = med(base.map((o) => o.cpuPerRequest));
    record({ bench: 'webhook', figure: 'ratio bare/admission server CPU per request', value: cpuBase / cpuOurs, unit: '×', loadavg: l,
      note: `medians ${cpuOurs.toFixed(0)} / ${cpuBase.toFixed(0)} µs per request (admission / bare)` });

    console.log(`latency at fixed rates, ${rateSeconds} s each`);
    for (const rate of rates) {
      await atRate(bare, rate);
      await atRate(admission, rate);
    }
    const st = await admission.stats();
    console.log(`admission server: correlation store ${st.storeSize} entries, VmRSS ${(st.rssBytes / 2 ** 20).toFixed(0)} MiB, VmHWM ${(st.hwmBytes / 2 ** 20).toFixed(0)} MiB`);
  } finally {
    for (const s of servers) await s.stop();
    await rm(certDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
