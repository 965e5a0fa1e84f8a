// Replicas don't tax admission (issue 19, target 3). A stack of its own; in the same run, a
// kubescribe of 1 replica and one of 3 (leader election and peers on, behind the round-robin TCP
// proxy, as e2e/stack/instance.ts runs them). For each, in turn (the order alternates by round):
// open-loop AdmissionReviews at --rate per second for --seconds (a ~10 KB Deployment UPDATE, each
// under a key of its own, as bench/webhook.ts sends), to the address the API server calls (the
// proxy for 3). Reported: p50/p99/max of the admission answer as the client sees it, the ratio
// 3-replica p99 ÷ 1-replica p99 (target ≤ 1.2), and the max event-loop delay of every replica
// during the run, from perf_hooks.monitorEventLoopDelay inside kubescribe, read once before and
// once after the run (both reset at every scrape): of the webhook's thread, which answers the
// reviews (kubescribe_webhook_eventloop_lag_max_seconds; target ≤ 20 ms), and of the main thread,
// which runs the watch and Git (prom-client's kubescribe_process_nodejs_eventloop_lag_max_seconds).
// Then the forced GC after a large snapshot: --gc-objects ConfigMaps are created, a fresh
// 1-replica kubescribe records them at start while reviews keep arriving at --rate; its
// kubescribe_memory_release_seconds (how long the memory-reducing GC held the event loop) and the
// event-loop delay max over 250 ms windows are read until --gc-wait seconds after the push.
// --baseline PROGRAM adds, in the same run, 3 replicas of another build (e.g. main's
// dist/kubescribe.mjs built elsewhere): before/after under the same load. --baseline-node-args
// 'flags' gives the baseline's node other flags than the image's (ENTRYPOINT), and alone runs this
// build as the baseline: the same code with and without a flag. --node-args does so for this build.
// --baseline-set 'a.b=value,…' changes the baseline's settings (alone, too: this build); --set
// this build's.
// The machine's floor, in the same runs: an idle Node process (the canary) measures its own
// event-loop delay the same way (10 ms resolution). What it sees is the scheduler's alone: on 2
// cores shared with the client and 3 replicas, no code in kubescribe can stall less than that.
// Usage: npx tsx bench/replica-admission.ts [--rate 1000] [--seconds 20] [--rounds 2] [--warmup 3] [--baseline PROGRAM]
//        [--node-args 'flags'] [--baseline-node-args 'flags'] [--set 'a.b=value,…'] [--baseline-set 'memory.optimizeForSize=false']
//        [--gc-objects 10000] [--gc-wait 20] [--dir /tmp/ks-bench/replicas] [--keep] [--json results.jsonl]
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { openLoop } from './support/open-loop.ts';
import { createConfigMaps, KubeClient } from './support/kube-client.ts';
import { arg, fmt, load, nodeArgs, record, settingsPatch, sleep, summarize } from './support/report.ts';
import { benchInstance, withStack } from './support/stack.ts';
import { reviewBody } from './support/webhook-process.ts';

const rate = Number(arg('rate', '1000'));
const seconds = Number(arg('seconds', '20'));
const rounds = Number(arg('rounds', '2'));
const gcObjects = Number(arg('gc-objects', '10000'));
const gcWait = Number(arg('gc-wait', '20'));
/** Seconds of reviews at --rate to each setup before the measured rounds (connections, JIT, heap sizes). */
const warmup = Number(arg('warmup', '3'));
const dir = arg('dir', '/tmp/ks-bench/replicas');
const baseline = arg('baseline', '');
const ownArgs = nodeArgs();
const baselineArgs = nodeArgs('baseline-node-args');
const baselineSet = settingsPatch('baseline-set');
const ownSet = settingsPatch('set');
const own = { ...(ownArgs ? { nodeArgs: ownArgs } : {}), ...(ownSet ? { settings: ownSet } : {}) };

const template = reviewBody(true).split('[<id>]');
let ids = 0;
const runId = `${process.pid.toString(36)}-${Date.now().toString(36)}-`;

/** POSTs one review with an id of its own; resolves with the answer's latency in ms. */
function reviewer(url: string, ca: Buffer): { send: () => Promise<number>; close: () => void } {
  const agent = new Agent({ keepAlive: true, maxSockets: 64, ca, checkServerIdentity: () => undefined });
  const target = new URL(url);
  const send = (): Promise<number> => new Promise((resolve, reject) => {
    const body = template.join(runId + (ids++).toString(36));
    const t0 = performance.now();
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, timeout: 10_000,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
  return { send, close: () => agent.destroy() };
}

async function gauge(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text();
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
}
/**
 * The largest event-loop delay since the last scrape, ms: of the webhook's thread (what a review
 * waits for; NaN for a build without one) and of the main thread (watch, Git). Both reset on read.
 */
async function lagMax(metricsUrl: string): Promise<{ webhook: number; main: number }> {
  const text = await (await fetch(metricsUrl)).text();
  const read = (name: string): number => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000;
  return { webhook: read('kubescribe_webhook_eventloop_lag_max_seconds'), main: read('kubescribe_process_nodejs_eventloop_lag_max_seconds') };
}
const finiteMax = (xs: number[]): number => Math.max(...xs.filter(Number.isFinite));

/** An idle process that reports (and resets) its event-loop delay max on GET: the machine's floor. */
const CANARY = `
const { monitorEventLoopDelay } = require('node:perf_hooks');
const h = monitorEventLoopDelay({ resolution: 10 });
h.enable();
const server = require('node:http').createServer((req, res) => { res.end(String(h.max / 1e6)); h.reset(); });
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.on('SIGTERM', () => process.exit(0));
// Its stdin is a pipe from the benchmark: closed when the benchmark ends, however it ends.
process.stdin.on('end', () => process.exit(0)).resume();
`;
async function startCanary(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', CANARY], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<string>((ok, fail) => {
    child.stdout!.once('data', (d: Buffer) => ok(d.toString().trim()));
    child.once('exit', (code) => fail(new Error(`the canary exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}/`, child };
}
const canaryMax = async (url: string): Promise<number> => Number(await (await fetch(url)).text());

interface Run { latencies: number[]; errors: number; late: number; lagMs: Array<{ webhook: number; main: number }>; canaryMs: number; load: number; pushesPerSecond: number }

/** Peer pushes every replica has sent so far (kubescribe_peer_pushes_total, all results). */
async function pushes(metricsUrls: string[]): Promise<number> {
  const texts = await Promise.all(metricsUrls.map(async (u) => (await fetch(u)).text()));
  let n = 0;
  for (const t of texts) for (const m of t.matchAll(/^kubescribe_peer_pushes_total\{[^}]*\} ([0-9.e+]+)$/gm)) n += Number(m[1]);
  return n;
}

/** One round on a warm client: its connections stay open between rounds, as the API server's do. */
async function admissionRun(c: ReturnType<typeof reviewer>, metricsUrls: string[], canaryUrl: string): Promise<Run> {
  await Promise.all(metricsUrls.map(lagMax)); // resets every replica's histogram
  const pushed0 = await pushes(metricsUrls);
  await canaryMax(canaryUrl);
  const { shots, late } = await openLoop({ rate, seconds, send: () => c.send() });
  const canaryMs = await canaryMax(canaryUrl);
  const lagMs = await Promise.all(metricsUrls.map(lagMax));
  const pushesPerSecond = (await pushes(metricsUrls) - pushed0) / seconds / metricsUrls.length;
  return { latencies: shots.filter((s) => s.result !== undefined).map((s) => s.result!), errors: shots.filter((s) => s.error).length, late, lagMs, canaryMs, load: load(), pushesPerSecond };
}

async function main(): Promise<void> {
  await withStack(dir, async (env) => {
    const ca = readFileSync(env.apiserver.caFile);
    const one = await benchInstance(env, { name: 'ra1', namespaces: ['bench-ra1'], resources: ['configmaps'], ...own });
    const three = await benchInstance(env, { name: 'ra3', namespaces: ['bench-ra3'], resources: ['configmaps'], replicas: 3, ...own });
    const base = baseline || baselineArgs || baselineSet
      ? await benchInstance(env, { name: 'rab', namespaces: ['bench-rab'], resources: ['configmaps'], replicas: 3, ...(baseline ? { program: baseline } : {}), ...(baselineArgs ? { nodeArgs: baselineArgs } : {}), ...(baselineSet ? { settings: baselineSet } : {}) })
      : undefined;
    for (const i of [one, three, base]) await i?.startKubescribe();
    const setups = [
      { n: 1, label: '1 replica', url: one.webhookUrl, metrics: [one.metricsUrl] },
      { n: 3, label: '3 replicas', url: three.webhookUrl, metrics: three.replicas.map((r) => r.metricsUrl) },
      ...(base ? [{ n: 3, label: '3 replicas, baseline', url: base.webhookUrl, metrics: base.replicas.map((r) => r.metricsUrl) }] : []),
    ];
    console.log(`replica admission: ${rate} reviews/s open loop for ${seconds} s, ${rounds} rounds; review ${template.join('x').length} bytes;${ownArgs ? ` node ${ownArgs.join(' ') || '(no flags)'};` : ''}${ownSet ? ` settings ${arg('set', '')};` : ''}${base ? ` baseline ${baseline || 'this build'}${baselineArgs ? `, node ${baselineArgs.join(' ') || '(no flags)'}` : ''}${baselineSet ? `, settings ${arg('baseline-set', '')}` : ''};` : ''} load ${load()}`);
    // Warm-up at the measured rate (JIT, and the connections a client opens at that rate: each a TLS
    // handshake on a replica's webhook thread), not measured. Before, each round opened its
    // connections anew after a warm-up at 200/s, and its first second held the stalls.
    const clients = new Map(setups.map((s) => [s.label, reviewer(s.url, ca)]));
    for (const s of setups) await openLoop({ rate, seconds: warmup, send: () => clients.get(s.label)!.send() });
    const runs = new Map<string, Run[]>(setups.map((s) => [s.label, []]));
    const canary = await startCanary();
    for (let i = 0; i < rounds; i++) {
      for (const s of i % 2 === 0 ? setups : [...setups].reverse()) {
        const r = await admissionRun(clients.get(s.label)!, s.metrics, canary.url);
        runs.get(s.label)!.push(r);
        const m = summarize(r.latencies);
        console.log(`  ${s.label}: p50 ${m.p50.toFixed(2)} p99 ${m.p99.toFixed(2)} max ${m.max.toFixed(1)} ms (${m.n} answers, ${r.errors} errors, ${r.late} sent late);`
          + ` event-loop delay max per replica, webhook thread ${r.lagMs.map((v) => fmt(v.webhook)).join(', ')} ms, main ${r.lagMs.map((v) => fmt(v.main)).join(', ')} ms, an idle process ${fmt(r.canaryMs)} ms; peer pushes ${fmt(r.pushesPerSecond)}/s a replica; load ${r.load}`);
      }
    }
    canary.child.kill();
    const p99 = new Map<string, number>();
    for (const [label, rs] of runs) {
      const m = summarize(rs.flatMap((r) => r.latencies));
      const l = Math.max(...rs.map((r) => r.load));
      const lag = finiteMax(rs.flatMap((r) => r.lagMs.map((v) => v.webhook)));
      const mainLag = finiteMax(rs.flatMap((r) => r.lagMs.map((v) => v.main)));
      const series = label.includes('baseline') ? 'baseline' : undefined;
      const x = { name: 'replicas', value: label.startsWith('1') ? 1 : 3 };
      p99.set(label, m.p99);
      record({ bench: 'replicas', figure: `admission answer p50 at ${rate}/s`, value: m.p50, unit: 'ms', x, series, loadavg: l });
      record({ bench: 'replicas', figure: `admission answer p99 at ${rate}/s`, value: m.p99, unit: 'ms', x, series, loadavg: l, note: `max ${fmt(m.max)} ms, ${rs.reduce((a, r) => a + r.errors, 0)} errors, ${rs.reduce((a, r) => a + r.late, 0)} sent late` });
      if (Number.isFinite(lag)) {
        record({ bench: 'replicas', figure: 'webhook thread event-loop delay max (any replica)', value: lag, unit: 'ms', x, series, loadavg: l, ...(series ? {} : { target: '≤ 20 ms', met: lag <= 20 }),
          note: `per round and replica: ${rs.map((r) => r.lagMs.map((v) => fmt(v.webhook)).join('/')).join('; ')}` });
      }
      const floor = Math.max(...rs.map((r) => r.canaryMs));
      record({ bench: 'replicas', figure: 'event-loop delay max of an idle process beside them (the machine\'s floor)', value: floor, unit: 'ms', x, series, loadavg: l,
        note: `per round: ${rs.map((r) => fmt(r.canaryMs)).join('; ')}` });
      if (x.value > 1) record({ bench: 'replicas', figure: `peer pushes a second, each replica, at ${rate}/s`, value: rs.reduce((a, r) => a + r.pushesPerSecond, 0) / rs.length, unit: '/s', x, series, loadavg: l });
      record({ bench: 'replicas', figure: 'main event-loop delay max (any replica; watch and Git)', value: mainLag, unit: 'ms', x, series, loadavg: l,
        note: `per round and replica: ${rs.map((r) => r.lagMs.map((v) => fmt(v.main)).join('/')).join('; ')}` });
    }
    for (const c of clients.values()) c.close();
    const ratio = p99.get('3 replicas')! / p99.get('1 replica')!;
    record({ bench: 'replicas', figure: 'admission p99 3 replicas ÷ 1 replica', value: ratio, unit: '×', target: '≤ 1.2×', met: ratio <= 1.2, note: `${fmt(p99.get('3 replicas')!)} / ${fmt(p99.get('1 replica')!)} ms` });
    if (base) record({ bench: 'replicas', figure: 'admission p99 3 replicas ÷ 1 replica, baseline build', value: p99.get('3 replicas, baseline')! / p99.get('1 replica')!, unit: '×', note: `${fmt(p99.get('3 replicas, baseline')!)} / ${fmt(p99.get('1 replica')!)} ms` });
    for (const i of [one, three, base]) await i?.close();
    if (gcObjects > 0) await gcPause(env, ca);
  });
}

/** The memory-reducing GC after a large start-up snapshot, while reviews arrive. */
async function gcPause(env: Parameters<typeof benchInstance>[0], ca: Buffer): Promise<void> {
  const ns = 'bench-ra-gc';
  const admin = new KubeClient(env, 'admin', 64);
  const t = performance.now();
  await createConfigMaps(admin, ns, { from: 0, to: gcObjects, concurrency: 32 }).finally(() => admin.close());
  console.log(`created ${gcObjects} ConfigMaps in ${fmt((performance.now() - t) / 1000)} s; load ${load()}`);
  const inst = await benchInstance(env, { name: 'ragc', namespaces: [ns], resources: ['configmaps'], ...own });
  try {
    await inst.startKubescribe();
    const c = reviewer(inst.webhookUrl, ca);
    const windows: Array<{ webhook: number; main: number }> = [];
    let stop = false;
    const sampler = (async () => { while (!stop) { windows.push(await lagMax(inst.metricsUrl).catch(() => ({ webhook: NaN, main: NaN }))); await sleep(250); } })();
    const loop = openLoop({ rate, seconds: gcWait, send: () => c.send() });
    const { shots } = await loop;
    const during = await gauge(inst.metricsUrl, 'kubescribe_memory_release_seconds_count');
    stop = true;
    await sampler;
    c.close();
    // Reviews stopped: a GC held back while they arrived may run now.
    await sleep(3000);
    const count = await gauge(inst.metricsUrl, 'kubescribe_memory_release_seconds_count');
    const sum = await gauge(inst.metricsUrl, 'kubescribe_memory_release_seconds_sum');
    const m = summarize(shots.filter((s) => s.result !== undefined).map((s) => s.result!));
    const l = load();
    const lag = finiteMax(windows.map((w) => w.webhook));
    const mainLag = finiteMax(windows.map((w) => w.main));
    console.log(`  ${gcObjects} objects at start, reviews at ${rate}/s for ${gcWait} s: admission p99 ${m.p99.toFixed(2)} max ${m.max.toFixed(1)} ms; event-loop delay max, webhook thread ${fmt(lag)} ms, main ${fmt(mainLag)} ms;`
      + ` forced GCs while reviews arrived ${during}, in all ${count} (${fmt(count > 0 ? (sum / count) * 1000 : NaN)} ms each); load ${l}`);
    const x = { name: 'objects', value: gcObjects };
    record({ bench: 'replicas', figure: 'forced GC pause after the snapshot', value: count > 0 ? (sum / count) * 1000 : 0, unit: 'ms', x, loadavg: l, note: `${count} GC(s), ${during} while reviews arrived` });
    record({ bench: 'replicas', figure: 'webhook thread event-loop delay max, snapshot + reviews', value: lag, unit: 'ms', x, loadavg: l, note: `admission p99 ${fmt(m.p99)} max ${fmt(m.max)} ms` });
    record({ bench: 'replicas', figure: 'main event-loop delay max, snapshot + reviews (watch and Git)', value: mainLag, unit: 'ms', x, loadavg: l, note: `the forced GC and the snapshot run here` });
  } finally {
    await inst.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
