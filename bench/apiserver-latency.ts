// What kubescribe's webhook costs the API server (issue 19, target 2). A stack of its own, a
// kubescribe instance of its own recording one namespace; alice PATCHes its ConfigMaps over
// keep-alive HTTPS with her client certificate, open loop at each rate, and the time until the
// apiserver answers is compared across conditions interleaved in one run (rotated each round):
//   none       no webhook registered for those ConfigMaps (the baseline);
//   running    kubescribe's webhook registered (failurePolicy Ignore, the chart's timeoutSeconds);
//   bare       registered alike, a minimal webhook instead: a fastify route over the same TLS
//              certificate that only answers `allowed` (bench/support/webhook-server.ts, a process
//              of its own). What any webhook costs here; "running ÷ bare" is kubescribe's own part;
//   refused    registered, kubescribe stopped: nothing listens at its address (connection refused,
//              what a deleted pod behind a Service gives);
//   blackhole  registered, kubescribe unreachable: the address accepts and never answers (a node
//              gone, a dropping NetworkPolicy), so each call waits for timeoutSeconds;
//   blackhole-short  the same with a shorter timeoutSeconds (--short-timeout, 1 s), to weigh the
//              chart's default: a call that waits holds one of the apiserver's mutating seats.
// kubescribe runs (watch + Git) in every condition, so its CPU on this shared machine weighs on
// all of them alike; the "running" PATCHes must all be committed as authored by alice.
// Paired baseline: in every segment alice also PATCHes a second namespace that no webhook matches,
// at the same rate, alternating request by request. Its latencies were taken at the same moments
// under the same load, so "condition ÷ unrecorded namespace" does not move with what else the
// machine does between segments; the "no webhook" condition gives that ratio's own noise (A/A).
// Each segment lasts --seconds, or longer at a low rate to get --min-samples PATCHes.
// Usage: npx tsx bench/apiserver-latency.ts [--rates 10,100,300] [--seconds 3] [--min-samples 60]
//        [--rounds 2] [--warmup 1] [--objects 3000] [--timeout <chart's>] [--short-timeout 1]
//        [--conditions none,running,bare,refused,blackhole,blackhole-short]
//        [--program OTHER/dist/kubescribe.mjs] [--dir /tmp/ks-bench/apiserver-latency] [--keep] [--json results.jsonl]
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot, webhookConfiguration } from '../e2e/stack/stack.ts';
import { freePort } from '../e2e/stack/processes.ts';
import { startFaultProxy, type FaultProxy } from '../e2e/stack/tcp-proxy.ts';
import { GitProbe } from './support/git-probe.ts';
import { createConfigMaps, KubeClient, type KubeResponse } from './support/kube-client.ts';
import { openLoop } from './support/open-loop.ts';
import { startServer, type ServerHandle } from './support/webhook-process.ts';
import { arg, fmt, load, numbers, record, sleep, summarize } from './support/report.ts';
import { benchInstance, withStack } from './support/stack.ts';

const CONDITIONS = ['none', 'running', 'bare', 'refused', 'blackhole', 'blackhole-short'] as const;
type Condition = (typeof CONDITIONS)[number];
const LABEL: Record<Condition, string> = { none: 'no webhook', running: 'kubescribe running', bare: 'minimal webhook', refused: 'stopped, refused', blackhole: 'stopped, black hole', 'blackhole-short': 'black hole, short timeout' };

const chartTimeout = (parse(readFileSync(join(repoRoot, 'charts', 'kubescribe', 'values.yaml'), 'utf8')) as { webhook: { timeoutSeconds: number } }).webhook.timeoutSeconds;
const rates = numbers('rates', '10,100,300');
const seconds = Number(arg('seconds', '3'));
const minSamples = Number(arg('min-samples', '60'));
const rounds = Number(arg('rounds', '2'));
const warmup = Number(arg('warmup', '1'));
// Enough objects that no one is PATCHed twice within a black-holed call (3,000 at 300/s: every
// 10 s): a PATCH whose object changed meanwhile fails its write, is retried, and calls the webhook again.
const objects = Number(arg('objects', '3000'));
const timeoutSeconds = Number(arg('timeout', String(chartTimeout)));
const shortTimeout = Number(arg('short-timeout', '1'));
const timeoutOf = (c: Condition): number => (c === 'blackhole-short' ? shortTimeout : timeoutSeconds);
const conditions = arg('conditions', CONDITIONS.join(',')).split(',').filter(Boolean) as Condition[];
const dir = arg('dir', '/tmp/ks-bench/apiserver-latency');
/** Another kubescribe build to run (e.g. main's dist/kubescribe.mjs built elsewhere): before/after. */
const program = arg('program', '');
const NS = 'bench-apilat';
/** The paired baseline: never matched by a webhook, never recorded. */
const NS_BASE = 'bench-apilat-base';
const VWC = 'kubescribe-apilat';
const VWC_PATH = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';

interface Cell { ms: number[]; baseMs: number[]; failed: Map<string, number>; late: number; loads: number[]; rvs: string[] }

async function main(): Promise<void> {
  if (conditions.some((c) => !CONDITIONS.includes(c)) || !conditions.includes('none')) throw new Error(`--conditions: some of ${CONDITIONS.join(',')}, with none (the baseline)`);
  await withStack(dir, async (env) => {
    const alice = new KubeClient(env, 'alice', 4096);
    const admin = new KubeClient(env, 'admin');
    let proxy: FaultProxy | undefined;
    let bare: ServerHandle | undefined;
    let instanceVwc = '';
    let certDir = '';
    const inst = await benchInstance(env, { name: 'apilat', namespaces: [NS], resources: ['configmaps'], ...(program ? { program } : {}), settings: (s) => {
      const webhook = s.webhook as Record<string, unknown>;
      instanceVwc = String(webhook.configurationName);
      certDir = dirname(String(webhook.tlsCertFile));
      webhook.configurationName = ''; // the benchmark owns the registration: kubescribe must not rewrite it
    } });
    const probe = new GitProbe({ dataDir: join(inst.dir, 'data') }, inst.git.repo);
    try {
      await admin.ok('DELETE', `${VWC_PATH}/${instanceVwc}`);
      await createConfigMaps(admin, NS, { from: 0, to: objects });
      await createConfigMaps(admin, NS, { from: 0, to: 1, prefix: 'probe' });
      await createConfigMaps(admin, NS_BASE, { from: 0, to: objects });
      await probe.ready;
      await inst.startKubescribe();
      const webhookPort = inst.replicas[0]!.webhookPort;
      const closedPort = await freePort();
      proxy = await startFaultProxy({ host: '127.0.0.1', port: webhookPort });
      proxy.set('blackhole');
      // Signed by the apiserver's CA like kubescribe's own (the same files).
      if (conditions.includes('bare')) bare = await startServer('bare', { tls: true, maxEntries: 1, certDir });
      const ports: Record<Exclude<Condition, 'none'>, number> = { running: webhookPort, bare: bare ? Number(new URL(bare.url).port) : closedPort, refused: closedPort, blackhole: proxy.port, 'blackhole-short': proxy.port };
      const caBundle = readFileSync(env.apiserver.caFile).toString('base64');
      const patch = (name: string, seq: number, ns = NS): Promise<KubeResponse> => alice.send('PATCH', `/api/v1/namespaces/${ns}/configmaps/${name}`, { data: { seq: String(seq) } }, 'application/merge-patch+json');
      let seq = 0;

      const switchTo = async (c: Condition): Promise<void> => {
        const gone = await admin.send('DELETE', `${VWC_PATH}/${VWC}`);
        if (gone.status >= 300 && gone.status !== 404) throw new Error(`deleting ${VWC}: ${gone.status} ${gone.body.slice(0, 200)}`);
        if (c === 'none') return;
        const vwc = webhookConfiguration(VWC, `https://127.0.0.1:${ports[c]}/admission`, caBundle, [{ group: '', version: 'v1', resource: 'configmaps' }], []) as { webhooks: Array<Record<string, unknown>> };
        Object.assign(vwc.webhooks[0]!, { timeoutSeconds: timeoutOf(c), failurePolicy: 'Ignore', namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [NS] }] } });
        await admin.ok('POST', VWC_PATH, vwc);
        if (c !== 'running') return;
        // Poll until the apiserver calls kubescribe: a PATCH committed as authored by alice.
        for (const until = Date.now() + 20_000; ;) {
          const r = await patch('probe-0', seq++);
          const rv = r.status < 300 ? (JSON.parse(r.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion : '';
          const seen = await probe.until('the probe commit', () => probe.local.some((x) => x.rv === rv), 5000).then(() => true, () => false);
          if (seen && probe.local.find((x) => x.rv === rv)?.user === 'alice') return;
          if (Date.now() > until) throw new Error('the apiserver does not call kubescribe\'s webhook (no probe commit authored by alice)');
          await sleep(200);
        }
      };

      const cells = new Map<string, Cell>();
      const cell = (rate: number, c: Condition): Cell => {
        const key = `${rate}/${c}`;
        if (!cells.has(key)) cells.set(key, { ms: [], baseMs: [], failed: new Map(), late: 0, loads: [], rvs: [] });
        return cells.get(key)!;
      };
      const started = Date.now();
      console.log(`kubescribe ${program || "(this build)"}, webhook on 127.0.0.1:${webhookPort}; timeoutSeconds ${timeoutSeconds} (chart: ${chartTimeout}), short ${shortTimeout}; ${objects} ConfigMaps; ${rounds} rounds × (${warmup} s warm-up + ${seconds} s) per rate and condition; load ${load()}`);
      for (let round = 0; round < rounds; round++) {
        const order = conditions.map((_, i) => conditions[(i + round) % conditions.length]!);
        for (const rate of rates) {
          for (const c of order) {
            await switchTo(c);
            const base = seq;
            // Even shots to the recorded namespace, odd ones to the paired baseline: each at `rate`.
            const { shots, late } = await openLoop({ rate: 2 * rate, seconds: warmup + Math.max(seconds, minSamples / rate), maxInFlight: 4096,
              send: (k) => patch(`cm-${(base + (k >> 1)) % objects}`, base + k, k % 2 === 0 ? NS : NS_BASE) });
            seq += shots.length;
            const cl = cell(rate, c);
            const from = shots[0]!.due + warmup * 1000;
            const segment: number[] = [];
            for (const s of shots.filter((x) => x.due >= from)) {
              if (s.k % 2 === 1) {
                if (s.result && s.result.status < 300) cl.baseMs.push(s.doneAt - s.sentAt);
                continue;
              }
              if (s.result && s.result.status < 300) {
                segment.push(s.doneAt - s.sentAt);
                if (c === 'running') cl.rvs.push((JSON.parse(s.result.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
              } else {
                const why = s.error !== undefined ? s.error.replace(/^PATCH \S+: /, '') : `HTTP ${s.result?.status}`;
                cl.failed.set(why, (cl.failed.get(why) ?? 0) + 1);
              }
            }
            cl.ms.push(...segment);
            cl.late += late;
            cl.loads.push(load());
            const S = summarize(segment);
            process.stderr.write(`  round ${round + 1}, ${rate}/s, ${LABEL[c]}: p50 ${fmt(S.p50)} p99 ${fmt(S.p99)} ms (unrecorded namespace p99 ${fmt(summarize(cl.baseMs).p99)} so far), load ${load()}\n`);
          }
        }
      }
      await switchTo('none');
      console.log(`measured in ${Math.round((Date.now() - started) / 1000)} s`);

      // Honest only if kubescribe recorded what went through it: every "running" PATCH, as alice's.
      const runningRvs = rates.flatMap((r) => cells.get(`${r}/running`)?.rvs ?? []);
      const wanted = new Set(runningRvs);
      const committed = (): typeof probe.local => probe.local.filter((x) => wanted.has(x.rv));
      await probe.until(`${wanted.size} commits`, () => committed().length >= wanted.size, 60_000).catch((err: Error) => console.log(`  ! ${err.message}`));
      const byAlice = committed().filter((x) => x.user === 'alice').length;
      if (conditions.includes('running')) {
        console.log(`kubescribe recorded ${committed().length}/${wanted.size} PATCHes of the "running" condition, ${byAlice} authored by alice`);
        record({ bench: 'apiserver-latency', figure: '"running" PATCHes committed as alice', value: wanted.size ? (100 * byAlice) / wanted.size : NaN, unit: '%', note: `${byAlice}/${wanted.size}` });
      }

      for (const rate of rates) {
        const base = summarize(cell(rate, 'none').ms);
        console.log(`\n${rate} changes/s — PATCH answered by the apiserver (ms), ratios to the "no webhook" segments and (paired) to the unrecorded namespace in the same segments:`);
        console.log('  condition                   n   p50     p99     max     p50 ×   p99 ×   paired p50 × p99 ×  failed  late  load');
        const none = cell(rate, 'none');
        const sent = none.ms.length + [...none.failed.values()].reduce((x, y) => x + y, 0);
        if (none.late + sent - none.ms.length > 0.05 * sent) console.log(`  ! without a webhook already ${sent - none.ms.length} of ${sent} PATCHes failed and ${none.late} left late: the apiserver (or this machine) is saturated at this rate, the ratios mean little`);
        for (const c of conditions) {
          const cl = cell(rate, c);
          const S = summarize(cl.ms);
          const l = Math.max(...cl.loads);
          const failed = [...cl.failed].map(([k, v]) => `${k} ×${v}`).join(', ');
          const B = summarize(cl.baseMs);
          console.log(`  ${LABEL[c].padEnd(25)} ${String(S.n).padStart(5)}  ${fmt(S.p50).padEnd(7)} ${fmt(S.p99).padEnd(7)} ${fmt(S.max).padEnd(7)} ${fmt(S.p50 / base.p50).padEnd(7)} ${fmt(S.p99 / base.p99).padEnd(7)} ${fmt(S.p50 / B.p50).padEnd(7)} ${fmt(S.p99 / B.p99).padEnd(6)} ${String(cl.failed.size ? [...cl.failed.values()].reduce((a, b) => a + b, 0) : 0).padEnd(7)} ${String(cl.late).padEnd(5)} ${l}${failed ? `  (${failed})` : ''}`);
          const x = { name: 'changes/s', value: rate };
          // The paired figure: the same moments, the same load; for "no webhook" it is the noise floor (A/A).
          const paired = `p50 ${fmt(S.p50)} / p99 ${fmt(S.p99)} ms vs ${fmt(B.p50)} / ${fmt(B.p99)} ms in the unrecorded namespace; n ${S.n} / ${B.n}${cl.failed.size ? `; ${failed}` : ''}`;
          record({ bench: 'apiserver-latency', figure: `PATCH p99, ${LABEL[c]} ÷ unrecorded namespace, paired`, value: S.p99 / B.p99, unit: '×', x, loadavg: l, note: paired,
            ...(c === 'running' ? { target: 'p99 ratio ≤ 1.10', met: S.p99 / B.p99 <= 1.1 && cl.failed.size === 0 } : {}) });
          record({ bench: 'apiserver-latency', figure: `PATCH p50, ${LABEL[c]} ÷ unrecorded namespace, paired`, value: S.p50 / B.p50, unit: '×', x, loadavg: l });
          if (c === 'running' && conditions.includes('bare')) {
            // Both paired, so each is against the unrecorded namespace of its own segments: what
            // kubescribe costs beyond what the apiserver pays to call any webhook.
            const bareCell = cell(rate, 'bare');
            const bareS = summarize(bareCell.ms);
            const bareB = summarize(bareCell.baseMs);
            for (const q of ['p50', 'p99'] as const) {
              record({ bench: 'apiserver-latency', figure: `PATCH ${q}, kubescribe running ÷ minimal webhook (each paired)`, value: (S[q] / B[q]) / (bareS[q] / bareB[q]), unit: '×', x, loadavg: Math.max(l, ...bareCell.loads) });
            }
          }
          if (c === 'none') continue;
          const note = `p50 ${fmt(S.p50)} / p99 ${fmt(S.p99)} ms vs ${fmt(base.p50)} / ${fmt(base.p99)} ms without a webhook; n ${S.n}${cl.failed.size ? `; ${failed}` : ''}`;
          record({ bench: 'apiserver-latency', figure: `PATCH p99, ${LABEL[c]} ÷ no webhook`, value: S.p99 / base.p99, unit: '×', x, loadavg: l, note });
          record({ bench: 'apiserver-latency', figure: `PATCH p50, ${LABEL[c]} ÷ no webhook`, value: S.p50 / base.p50, unit: '×', x, loadavg: l });
          if (c !== 'running') record({ bench: 'apiserver-latency', figure: `PATCH p50 added, ${LABEL[c]} (timeoutSeconds ${timeoutOf(c)})`, value: S.p50 - base.p50, unit: 'ms', x, loadavg: l });
        }
      }
    } finally {
      await admin.send('DELETE', `${VWC_PATH}/${VWC}`).catch(() => undefined);
      await proxy?.close();
      await bare?.stop();
      await probe.stop();
      await inst.close();
      alice.close();
      admin.close();
    }
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
