// How commit throughput grows with the repository (issue 7, targets 3 and 6): GitWriter.commit
// (the commit path alone: batching off, each commit durable in the journal; and with packing
// and pushing it all at the end) against
// `git fast-import` writing the same commits in the same run, on repositories of 100, 1,000 and
// 10,000 files. bench/git-commit.ts is the full benchmark at 10,000 files (with packing, pushing
// and the default batching); this one keeps to the ratio, at several sizes.
// Usage: npx tsx bench/commit-growth.ts [--files 100,1000,10000] [--commits 1000] [--layout spread|flat] [--json results.jsonl]
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createBareRepo, startGitServer } from '../e2e/stack/git-server.ts';
import { GitWriter } from '../src/git/index.ts';
import { arg, fmt, load, numbers, record } from './support/report.ts';

const sizes = numbers('files', '100,1000,10000');
const commits = Number(arg('commits', '1000'));
const RESOURCES = ['core/configmaps', 'core/secrets', 'core/services', 'apps/deployments'];
// spread: 50 namespaces × 4 resource types (as bench/git-commit.ts); flat: every object in one
// folder (one namespace, one type: the shape of a namespace with 10,000 ConfigMaps).
const layout = arg('layout', 'spread');
const pathOf = (i: number): string => (layout === 'flat' ? `ns/core/configmaps/obj-${i}.yaml` : `ns-${i % 50}/${RESOURCES[Math.floor(i / 50) % RESOURCES.length]}/obj-${i}.yaml`);
const yaml = (i: number, v: number): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: obj-${i}\n  namespace: ns-${i % 50}\ndata:\n  version: "${v}"\n  payload: ${'x'.repeat(120)}\n`;

/** Updates of existing files, spread over the repository. */
function changes(files: number): Array<{ path: string; content: string; time: number }> {
  return Array.from({ length: commits }, (_, c) => { const i = (c * 7919) % files; return { path: pathOf(i), content: yaml(i, c + 1), time: 1_700_000_000 + c }; });
}

function stream(files: number, list: ReturnType<typeof changes> | undefined): Buffer {
  const parts: Buffer[] = [];
  const data = (s: string): void => { const b = Buffer.from(s); parts.push(Buffer.from(`data ${b.length}\n`), b, Buffer.from('\n')); };
  if (!list) {
    parts.push(Buffer.from('commit refs/heads/main\ncommitter seed <seed@example.com> 1600000000 +0000\n'));
    data('seed');
    for (let i = 0; i < files; i++) { parts.push(Buffer.from(`M 100644 inline ${pathOf(i)}\n`)); data(yaml(i, 0)); }
    return Buffer.concat(parts);
  }
  list.forEach((ch, k) => {
    parts.push(Buffer.from(`commit refs/heads/main\nauthor alice <alice@example.com> ${ch.time} +0000\ncommitter kubescribe <kubescribe@example.com> ${ch.time} +0000\n`));
    data(`UPDATE v1 configmaps ${ch.path}\n\nKubescribe-User: alice\n`);
    if (k === 0) parts.push(Buffer.from('from refs/heads/main^0\n'));
    parts.push(Buffer.from(`M 100644 inline ${ch.path}\n`));
    data(ch.content);
  });
  return Buffer.concat(parts);
}

function fastImport(gitDir: string, input: Buffer): Promise<number> {
  const t0 = performance.now();
  return new Promise((ok, fail) => {
    const p = spawn('git', ['--git-dir', gitDir, 'fast-import', '--quiet'], { stdio: ['pipe', 'inherit', 'inherit'] });
    p.on('error', fail);
    p.on('close', (code) => (code === 0 ? ok(performance.now() - t0) : fail(new Error(`git fast-import exited with ${code}`))));
    p.stdin.end(input);
  });
}

async function main(): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), 'bench-commit-growth-'));
  const srv = join(tmp, 'srv');
  const server = await startGitServer({ root: srv, username: 'bench', password: 'bench', port: 0 });
  try {
    console.log(`commit throughput: ${commits} commits of one changed file (${layout} layout), GitWriter.commit vs git fast-import; load ${load()}`);
    for (const files of sizes) {
      const seed = stream(files, undefined);
      const remote = await createBareRepo(srv, `r${files}`, { defaultBranch: 'main' });
      const fi = await createBareRepo(tmp, `fi${files}`, { defaultBranch: 'main' });
      await fastImport(remote, seed);
      await fastImport(fi, seed);
      const list = changes(files);
      const w = await GitWriter.open({
        dir: join(tmp, `w${files}`), url: `${server.url}/r${files}.git`, branch: 'main',
        credentials: () => ({ username: 'bench', password: 'bench' }), committer: { name: 'kubescribe', email: 'kubescribe@example.com' },
        pushIntervalMs: 3_600_000, pushMaxCommits: Number.MAX_SAFE_INTEGER, logger: pino({ level: 'silent' }),
      });
      const t0 = performance.now();
      for (const ch of list) await w.commit({ changes: [{ path: ch.path, content: ch.content }], author: { name: 'alice', email: 'alice@example.com', timestamp: ch.time }, message: `UPDATE v1 configmaps ${ch.path}\n\nKubescribe-User: alice\n` });
      const ours = performance.now() - t0;
      const t1 = performance.now();
      const pushed = await w.flush(); // pack to disk and push it all
      if (!pushed.ok) throw pushed.error;
      const withPush = ours + performance.now() - t1;
      await w.close();
      const theirs = await fastImport(fi, stream(files, list));
      const l = load();
      const rate = (ms: number): number => (commits / ms) * 1000;
      console.log(`  ${String(files).padStart(6)} files: GitWriter.commit ${fmt(rate(ours))}/s (${fmt(ours)} ms; with packing and one push at the end ${fmt(rate(withPush))}/s), git fast-import ${fmt(rate(theirs))}/s (${fmt(theirs)} ms); ratios ${fmt(theirs / ours)}×, ${fmt(theirs / withPush)}×  (load ${l})`);
      const x = { name: 'files', value: files };
      const series = `${layout} layout`;
      record({ bench: 'commit', figure: 'commit rate GitWriter / fast-import', value: theirs / ours, unit: '×', x, series, loadavg: l, ...(files === 10_000 && layout === 'spread' ? { target: '≥ 0.5×', met: theirs / ours >= 0.5 } : {}), note: `${fmt(rate(ours))} vs ${fmt(rate(theirs))} commits/s` });
      record({ bench: 'commit', figure: 'commit + pack + push / fast-import', value: theirs / withPush, unit: '×', x, series, loadavg: l, note: `${fmt(rate(withPush))} vs ${fmt(rate(theirs))} commits/s` });
      record({ bench: 'commit', figure: 'GitWriter commits/s', value: rate(ours), unit: 'commits/s', x, series, loadavg: l });
    }
  } finally {
    await server.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
