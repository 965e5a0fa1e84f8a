// Runs every benchmark (sizes as modest as each target allows) and prints two tables: the targets
// of the open performance issue (bench/support/targets.ts: figure, load average, met / NOT MET /
// not measured), then every figure. The exact commands behind docs/benchmarks.md are listed there.
// Usage: npx tsx bench/run-all.ts [--only webhook,flood,...] [--out DIR] [--plot] [--keep-going]
//   --out   where the results (results.jsonl, one JSON record a figure) and each log go
//           (default: a new folder under the system temp dir)
//   --plot  draws DIR/benchmarks-growth.png with bench/plot.py (python3 + matplotlib)
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownSummary } from './support/tables.ts';
import { markdownTargets } from './support/targets.ts';
import type { BenchRecord } from './support/report.ts';
import { arg, flag, load } from './support/report.ts';

const here = dirname(fileURLToPath(import.meta.url));

interface Step { name: string; file: string; args: string[]; stack?: boolean }

/** The modest sizes; docs/benchmarks.md gives the full ones. */
function steps(out: string): Step[] {
  return [
    { name: 'sanitize', file: 'sanitize-hash.ts', args: ['1'] },
    { name: 'git-commit', file: 'git-commit.ts', args: ['1000'] },
    { name: 'commit-growth', file: 'commit-growth.ts', args: ['--files', '100,1000,10000', '--commits', '500'] },
    { name: 'commit-growth-flat', file: 'commit-growth.ts', args: ['--files', '100,1000,10000', '--commits', '200', '--layout', 'flat'] },
    { name: 'folder-creates', file: 'folder-creates.ts', args: ['--creates', '10000'] },
    { name: 'webhook', file: 'webhook.ts', args: ['--rounds', '5', '--seconds', '4', '--rates', '10,100,1000', '--rate-seconds', '5'] },
    { name: 'webhook-parts', file: 'webhook-parts.ts', args: ['--rounds', '5'] },
    { name: 'flood', file: 'correlation-flood.ts', args: ['--max-entries', '20000', '--times', '3'] },
    { name: 'change-latency', file: 'change-latency.ts', args: ['--objects', '500', '--rates', '10,100', '--seconds', '20', '--warmup', '3', '--dir', join(out, 'stack-latency')], stack: true },
    { name: 'snapshot-memory', file: 'snapshot-memory.ts', args: ['--sizes', '100,1000,10000', '--dir', join(out, 'stack-snapshot')], stack: true },
    // Issue 19's 100,000-object memory target (~5 minutes: most of it creating the objects).
    { name: 'snapshot-memory-100k', file: 'snapshot-memory.ts', args: ['--sizes', '100000', '--dir', join(out, 'stack-snapshot-100k')], stack: true },
    { name: 'burst', file: 'burst-memory.ts', args: ['--lists', '10', '--per-list', '1000', '--dir', join(out, 'stack-burst')], stack: true },
    { name: 'replica-admission', file: 'replica-admission.ts', args: ['--seconds', '10', '--rounds', '2', '--gc-objects', '10000', '--gc-wait', '10', '--dir', join(out, 'stack-replicas')], stack: true },
    // 24 rounds (14,400 changes): with 8 the timed window was ~4 s, much of it the 6 controllers' start.
    { name: 'scale-out', file: 'scale-out.ts', args: ['--objects', '100', '--rounds', '24', '--dir', join(out, 'stack-scale-out')], stack: true },
    { name: 'apiserver-latency', file: 'apiserver-latency.ts', args: ['--rates', '10,100,300', '--seconds', '3', '--rounds', '2', '--dir', join(out, 'stack-apiserver-latency')], stack: true },
  ];
}

function run(step: Step, results: string, logFile: string): Promise<number> {
  return new Promise((resolve) => {
    const log = createWriteStream(logFile);
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, step.file), ...step.args, '--json', results], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dirname(here) });
    const tee = (chunk: Buffer): void => { process.stdout.write(chunk); log.write(chunk); };
    child.stdout.on('data', tee);
    child.stderr.on('data', (c: Buffer) => { if (!/trace-warnings|Unknown user config/.test(c.toString())) tee(c); });
    // Ctrl-C reaches the child too (same process group): it stops what it started, then we exit.
    child.on('close', (code) => { log.end(); resolve(code ?? 1); });
  });
}

async function main(): Promise<void> {
  const out = arg('out', '') || (await mkdtemp(join(tmpdir(), 'kubescribe-bench-')));
  await mkdir(out, { recursive: true });
  const results = join(out, 'results.jsonl');
  const only = arg('only', '').split(',').filter(Boolean);
  const chosen = steps(out).filter((s) => only.length === 0 || only.includes(s.name));
  if (chosen.some((s) => s.stack) && !existsSync(join(dirname(here), 'dist', 'kubescribe.mjs'))) {
    throw new Error('the stack benchmarks run kubescribe from dist/: run `npm run build` (or `make bench`) first');
  }
  console.log(`kubescribe benchmarks: ${chosen.map((s) => s.name).join(', ')}; results in ${out}; load average ${load()}`);
  const failed: string[] = [];
  const started = Date.now();
  for (const step of chosen) {
    console.log(`\n=== ${step.name}: npx tsx bench/${step.file} ${step.args.join(' ')}`);
    const code = await run(step, results, join(out, `${step.name}.log`));
    if (code !== 0) {
      failed.push(step.name);
      if (!flag('keep-going') && code === 130) break;
    }
  }
  const records = existsSync(results) ? readFileSync(results, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as BenchRecord) : [];
  console.log(`\n=== the targets of issue 19 (${Math.round((Date.now() - started) / 1000)} s; ratios are from one run, load average next to each figure)\n`);
  console.log(markdownTargets(records));
  console.log('\n=== every figure\n');
  console.log(markdownSummary(records));
  if (flag('plot')) {
    const png = join(out, 'benchmarks-growth.png');
    const code = await new Promise<number>((resolve) => spawn('python3', [join(here, 'plot.py'), results, png], { stdio: 'inherit' }).on('close', (c) => resolve(c ?? 1)).on('error', () => resolve(1)));
    console.log(code === 0 ? `plot: ${png}` : 'plot: failed (python3 with matplotlib is needed: pip install matplotlib)');
  }
  console.log(`results: ${results}`);
  if (failed.length > 0) {
    console.log(`FAILED: ${failed.join(', ')} (logs in ${out})`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
