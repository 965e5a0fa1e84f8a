// Times commits from the Git side with millisecond resolution (commit timestamps in Git have
// seconds only): a worker thread (git-probe-worker.ts) watches kubescribe's journal for local
// commits and the remote bare repository's ref for pushes. pushedTimes() maps every commit that
// reached the remote to the moment its push was seen, by walking the remote's history once.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { ProbeConfig, ProbeEvent } from './git-probe-worker.ts';

const exec = promisify(execFile);

export { findJournal } from './journal-path.ts';

export interface LocalCommit { at: number; rv: string; op: string; user: string; object: string }

export class GitProbe {
  readonly local: LocalCommit[] = [];
  readonly pushes: Array<{ at: number; sha: string }> = [];
  readonly errors: string[] = [];
  private readonly stopFlag = new SharedArrayBuffer(4);
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private listeners: Array<() => void> = [];
  /** Resolves once the worker watches (start kubescribe after it). */
  readonly ready: Promise<void>;

  /**
   * `where`: the journal file, or kubescribe's data dir (start the probe before kubescribe, so that
   * no commit is missed: the journal is emptied at every push).
   */
  constructor(where: { journal: string } | { dataDir: string }, private readonly remoteRepo: string, private readonly branch = 'main') {
    const cfg: ProbeConfig = { ...where, remoteRef: join(remoteRepo, 'refs', 'heads', branch), stopFlag: this.stopFlag };
    // A worker does not inherit tsx's loader: register it in the worker, then load the TypeScript file.
    const file = new URL('./git-probe-worker.ts', import.meta.url).href;
    const boot = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(file)}); })`;
    this.worker = new Worker(boot, { eval: true, workerData: cfg });
    let isReady: () => void = () => undefined;
    let failed: (err: Error) => void = () => undefined;
    this.ready = new Promise((resolve, reject) => { isReady = resolve; failed = reject; });
    this.worker.on('error', (err) => {
      this.errors.push(`probe worker failed: ${err.message}`);
      failed(err);
    });
    this.worker.on('message', (e: ProbeEvent) => {
      if (e.kind === 'ready') isReady();
      else if (e.kind === 'local') this.local.push(e);
      else if (e.kind === 'pushed') this.pushes.push(e);
      else this.errors.push(e.message);
      for (const l of this.listeners) l();
    });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
  }

  /** Resolves when `check` holds (checked on every event), or rejects after the timeout. */
  until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { done(); reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)); }, timeoutMs);
      const listener = (): void => { if (check()) { done(); resolve(); } };
      const done = (): void => { clearTimeout(timer); this.listeners = this.listeners.filter((l) => l !== listener); };
      this.listeners.push(listener);
    });
  }

  async stop(): Promise<void> {
    Atomics.store(new Int32Array(this.stopFlag), 0, 1);
    Atomics.notify(new Int32Array(this.stopFlag), 0);
    await this.exited;
  }

  /** resourceVersion → when the push that carried its commit was seen; walks the remote's history once. */
  async pushedTimes(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (this.pushes.length === 0) return out;
    const { stdout } = await exec('git', ['-C', this.remoteRepo, 'log', '--reverse', '--format=%x1e%H%x00%B', this.branch], { maxBuffer: 1 << 30 });
    const commits = stdout.split('\x1e').filter(Boolean).map((c) => {
      const [sha = '', body = ''] = c.split('\0');
      return { sha, rv: /^Kubescribe-Resource-Version: (.*)$/m.exec(body)?.[1] ?? '' };
    });
    const index = new Map(commits.map((c, i) => [c.sha, i]));
    let from = 0;
    for (const p of this.pushes) {
      const to = index.get(p.sha);
      if (to === undefined || to < from) continue;
      for (let i = from; i <= to; i++) if (commits[i]!.rv) out.set(commits[i]!.rv, p.at);
      from = to + 1;
    }
    return out;
  }
}
