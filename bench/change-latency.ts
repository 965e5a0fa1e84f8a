// Change → commit latency through the real apiserver (issue 7, target 2). A stack of its own
// (apiserver + etcd), a kubescribe instance of its own (e2e/stack/instance.ts: own Git server,
// repo, webhook; push interval 1 s), N ConfigMaps; then alice PATCHes them over HTTPS at a fixed
// rate (open loop: request k leaves at t0 + k/rate whatever the answers), each change through
// admission (our webhook) and the watch. Times from the Git side (bench/support/git-probe.ts):
//   local   the commit appended to kubescribe's journal (GitWriter.commit returned);
//   pushed  the remote bare repository's branch ref moved past the commit.
// Both from the moment the PATCH was sent, matched by resourceVersion (the commit's
// Kubescribe-Resource-Version trailer). Targets at 100 changes/s for 60 s: local p99 < 300 ms,
// pushed p99 < 2 s. Then the steady state (issue 19, target 6): after the last push, --idle
// seconds without changes, the lines kubescribe logs at info or above (target: none).
// Usage: npx tsx bench/change-latency.ts [--objects 500] [--rates 100] [--seconds 60]
//        [--warmup 5] [--idle 20] [--dir /tmp/ks-bench/latency] [--keep] [--profile DIR] [--json results.jsonl]
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Instance } from '../e2e/stack/instance.ts';
import { infoLinesAfter } from '../e2e/stack/log-lines.ts';
import { GitProbe } from './support/git-probe.ts';
import { createConfigMaps, KubeClient } from './support/kube-client.ts';
import { arg, fmt, load, numbers, record, sleep, summarize } from './support/report.ts';
import { benchInstance, cpuSecondsOf, kubescribePid, memoryOf, probed, withStack } from './support/stack.ts';

const objectCounts = numbers('objects', '500');
const rates = numbers('rates', '100');
const seconds = Number(arg('seconds', '60'));
const warmup = Number(arg('warmup', '5'));
const idleSeconds = Number(arg('idle', '20'));
const dir = arg('dir', '/tmp/ks-bench/latency');
const profileDir = arg('profile', '');
const NS = 'bench-latency';
const MAX_IN_FLIGHT = 256;

interface Sent { seq: number; name: string; sentAt: number; ackAt: number; status: number; rv: string; error?: string }

const now = (): number => performance.timeOrigin + performance.now();

/** Open-loop PATCHes at `rate`/s for `secs` s over objects cm-0 .. cm-(n-1), round robin. */
async function drive(client: KubeClient, n: number, rate: number, secs: number, seqBase: number): Promise<{ sent: Sent[]; late: number }> {
  const sent: Sent[] = [];
  const total = Math.round(rate * secs);
  const t0 = now();
  let inFlight = 0;
  let late = 0; // requests that left more than 50 ms after their slot (the generator could not keep up)
  const pending: Promise<void>[] = [];
  for (let k = 0; k < total; k++) {
    const due = t0 + (k * 1000) / rate;
    let wait = due - now();
    while (wait > 0 || inFlight >= MAX_IN_FLIGHT) {
      await sleep(Math.max(1, Math.min(wait, 5)));
      wait = due - now();
    }
    if (-wait > 50) late++;
    const seq = seqBase + k;
    const name = `cm-${k % n}`;
    const s: Sent = { seq, name, sentAt: now(), ackAt: 0, status: 0, rv: '' };
    sent.push(s);
    inFlight++;
    pending.push(client.send('PATCH', `/api/v1/namespaces/${NS}/configmaps/${name}`, { data: { seq: String(seq) } }, 'application/merge-patch+json')
      .then((r) => {
        s.status = r.status;
        s.ackAt = now();
        if (r.status < 300) s.rv = (JSON.parse(r.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
      }, (err: Error) => { s.status = -1; s.rv = ''; s.error = err.message; })
      .finally(() => { inFlight--; }));
  }
  await Promise.all(pending);
  return { sent, late };
}

async function runAt(inst: Instance, probe: GitProbe, client: KubeClient, n: number, rate: number, seqBase: number): Promise<void> {
  const pid = kubescribePid(inst.settingsFile);
  const cpu0 = pid ? cpuSecondsOf(pid) : NaN;
  const localBefore = probe.local.length;
  const started = now();
  const { sent, late } = await drive(client, n, rate, seconds, seqBase);
  const elapsed = (now() - started) / 1000;
  const ok = sent.filter((s) => s.rv !== '');
  const wanted = new Set(ok.map((s) => s.rv));
  const seen = (): number => probe.local.slice(localBefore).filter((c) => wanted.has(c.rv)).length;
  await probe.until(`${ok.length} local commits`, () => seen() >= ok.length, 120_000).catch((err: Error) => console.log(`  ! ${err.message} (${seen()} seen)`));
  const pushedOf = async (): Promise<Map<string, number>> => probe.pushedTimes();
  let pushed = await pushedOf();
  for (let i = 0; i < 100 && ok.some((s) => !pushed.has(s.rv)); i++) {
    await sleep(200);
    pushed = await pushedOf();
  }
  const cpu = pid ? cpuSecondsOf(pid) - cpu0 : NaN;
  const mem = pid ? memoryOf(pid) : { rssMiB: NaN, hwmMiB: NaN };
  const l = load();

  const localAt = new Map(probe.local.slice(localBefore).map((c) => [c.rv, c]));
  const localMs = ok.flatMap((s) => { const c = localAt.get(s.rv); return c ? [c.at - s.sentAt] : []; });
  const pushedMs = ok.flatMap((s) => { const t = pushed.get(s.rv); return t ? [t - s.sentAt] : []; });
  const apiMs = ok.map((s) => s.ackAt - s.sentAt);
  const fromAck = ok.flatMap((s) => { const c = localAt.get(s.rv); return c ? [c.at - s.ackAt] : []; });
  const byUser = new Map<string, number>();
  for (const s of ok) { const u = localAt.get(s.rv)?.user ?? '(no commit)'; byUser.set(u, (byUser.get(u) ?? 0) + 1); }
  const L = summarize(localMs);
  const P = summarize(pushedMs);
  const A = summarize(apiMs);
  const F = summarize(fromAck);
  const achieved = ok.length / elapsed;
  console.log(`  ${n} objects, ${rate} changes/s for ${seconds} s: ${ok.length} changes accepted (${sent.length - ok.length} failed, ${late} sent >50 ms late), achieved ${fmt(achieved)}/s; load ${l}`);
  console.log(`    PATCH answered (apiserver + webhook):   p50 ${fmt(A.p50)} p99 ${fmt(A.p99)} max ${fmt(A.max)} ms`);
  console.log(`    sent → local commit:  ${L.n} commits   p50 ${fmt(L.p50)} p90 ${fmt(L.p90)} p99 ${fmt(L.p99)} max ${fmt(L.max)} ms`);
  console.log(`    answered → local commit:                 p50 ${fmt(F.p50)} p99 ${fmt(F.p99)} ms`);
  console.log(`    sent → pushed:        ${P.n} commits   p50 ${fmt(P.p50)} p90 ${fmt(P.p90)} p99 ${fmt(P.p99)} max ${fmt(P.max)} ms (${probe.pushes.length} pushes so far)`);
  console.log(`    authors: ${[...byUser].map(([u, c]) => `${u} ${c}`).join(', ')}; kubescribe CPU ${fmt(cpu)} s (${fmt((cpu / elapsed) * 100)}% of a core), VmRSS ${fmt(mem.rssMiB)} MiB, VmHWM ${fmt(mem.hwmMiB)} MiB`);
  const failures = new Map<string, number>();
  for (const s of sent) if (s.rv === '') { const k = s.error ?? String(s.status); failures.set(k, (failures.get(k) ?? 0) + 1); }
  if (failures.size > 0) console.log(`    failed PATCHes: ${[...failures].map(([k, c]) => `${k} ×${c}`).join(', ')}`);
  if (probe.errors.length > 0) console.log(`    ! probe: ${probe.errors.slice(0, 3).join('; ')}`);
  const note = `${n} objects, achieved ${fmt(achieved)}/s, ${L.n}/${ok.length} timed`;
  const target = rate === 100 && seconds >= 60;
  // Each figure twice: by changes/s (a series per object count) and by objects (a series per rate).
  const views = [
    { bench: 'change-latency', x: { name: 'changes/s', value: rate }, series: `${n} objects` },
    { bench: 'change-latency-objects', x: { name: 'objects', value: n }, series: `${rate} changes/s` },
  ];
  for (const v of views) {
    const main = v.bench === 'change-latency';
    record({ ...v, figure: 'change → local commit p99', value: L.p99, unit: 'ms', loadavg: l, note,
      ...(main && target ? { target: 'p99 < 300 ms at 100 changes/s for 60 s', met: L.p99 < 300 && L.n === ok.length } : {}) });
    record({ ...v, figure: 'change → local commit p50', value: L.p50, unit: 'ms', loadavg: l, note });
    record({ ...v, figure: 'change → pushed p99', value: P.p99, unit: 'ms', loadavg: l, note,
      ...(main && target ? { target: 'p99 < 2 s with a 1 s push interval', met: P.p99 < 2000 && P.n === ok.length } : {}) });
    record({ ...v, figure: 'kubescribe CPU per change', value: (cpu * 1e6) / ok.length, unit: 'µs', loadavg: l, note });
    if (main) {
      record({ ...v, figure: 'changes/s achieved', value: achieved, unit: '/s', loadavg: l, note });
      record({ ...v, figure: 'attributed to alice', value: (100 * (byUser.get('alice') ?? 0)) / ok.length, unit: '%', loadavg: l, note });
    }
  }
}

/** Steady state: no change for idleSeconds after the last push; what kubescribe logs at info meanwhile. */
async function steadyLogs(inst: Instance, probe: GitProbe, n: number): Promise<void> {
  const pushes = probe.pushes.length;
  await sleep(3000); // the last push of the run, if one was still due
  if (probe.pushes.length !== pushes) await sleep(3000);
  const from = statSync(inst.log).size;
  const l0 = load();
  await sleep(idleSeconds * 1000);
  const lines = infoLinesAfter(inst.log, from);
  const l = Math.round(((l0 + load()) / 2) * 100) / 100;
  for (const line of lines.slice(0, 3)) console.log(`    idle info line: ${line.slice(0, 200)}`);
  record({ bench: 'change-latency', figure: 'info log lines at steady state', value: lines.length, unit: 'lines', loadavg: l,
    target: '0 in the idle window', met: lines.length === 0, note: `${idleSeconds} s idle after the runs, ${n} objects` });
}

async function main(): Promise<void> {
  await withStack(dir, async (env) => {
    const client = new KubeClient(env, 'alice', MAX_IN_FLIGHT);
    const admin = new KubeClient(env, 'admin');
    let created = 0;
    let seq = 0;
    try {
      for (const n of objectCounts) {
        await createConfigMaps(admin, NS, { from: created, to: n, onProgress: (d) => process.stderr.write(`  created ${created + d}\r`) });
        created = Math.max(created, n);
        const inst = await benchInstance(env, { name: `lat${n}`, namespaces: [NS], settings: (s) => { (s.git as Record<string, unknown>).pushIntervalMs = 1000; } });
        const probe = new GitProbe({ dataDir: join(inst.dir, 'data') }, inst.git.repo);
        try {
          await probe.ready;
          const t0 = now();
          await probed({ cpuProfileDir: profileDir || undefined }, () => inst.startKubescribe());
          // The start-up reconcile of the N objects, pushed: the instance is then in its steady state.
          await probe.until('the first push', () => probe.pushes.length > 0, 120_000);
          console.log(`instance lat${n}: ${n} objects recorded and pushed ${fmt((now() - t0) / 1000)} s after start; load ${load()}`);
          if (warmup > 0) {
            const w = await drive(client, n, Math.min(rates[0] ?? 10, 100), warmup, seq);
            seq += w.sent.length;
            await sleep(2000);
          }
          for (const rate of rates) {
            await runAt(inst, probe, client, n, rate, seq);
            seq += Math.round(rate * seconds);
          }
          if (idleSeconds > 0) await steadyLogs(inst, probe, n);
        } finally {
          await probe.stop();
          await inst.close();
        }
      }
    } finally {
      client.close();
      admin.close();
    }
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
