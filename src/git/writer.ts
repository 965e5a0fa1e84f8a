// The public face of the git writer: one GitWriter per (repo, branch). Every operation runs
// inside the repository's lock (lock.ts); the work itself lives in one file an operation
// (open-repo, commit-changes, push-branch, replay). Pushes are batched: one timer after the first
// unpushed commit, or at once when pushMaxCommits are waiting, and after a failure the next try
// waits with exponential backoff (1 s doubling to 30 s) while commits keep piling up locally.
import type { Logger } from 'pino';
import { backoffDelay } from './backoff.ts';
import { blobOid } from './blob-oid.ts';
import { commitChanges } from './commit-changes.ts';
import { redactUrl } from './git-error.ts';
import { lockFor, type RepoLock } from './lock.ts';
import { openRepo } from './open-repo.ts';
import { pushBranch } from './push-branch.ts';
import { readCommit, type Repo } from './repo.ts';
import { TreeIndex } from './tree-index.ts';
import type { CommitInput, GitWriterOptions, PushResult } from './types.ts';

export { blobOid };
export type { CommitInput, FileChange, GitWriterOptions, PushResult } from './types.ts';

const DEFAULTS = { pushIntervalMs: 1000, pushMaxCommits: 200 };
// Pack the journal early when this much waits in memory (a long outage, a huge resync).
const MAX_UNFLUSHED_BYTES = 64 * 1024 * 1024;

export class GitWriter {
  private readonly listeners = new Set<(r: PushResult) => void>();
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  private broken = false;
  private pushQueued = false;

  private constructor(
    private readonly repo: Repo,
    private readonly lock: RepoLock,
    private readonly pushIntervalMs: number,
    private readonly pushMaxCommits: number,
    private readonly logger: Logger,
  ) {}

  /**
   * Clones (bare, shallow, one branch) into opts.dir or reuses it. A remote without the branch is
   * fine: the first commit starts it. Commits left unpushed by a previous run are pushed soon
   * after (replayed first if the remote moved).
   */
  static async open(opts: GitWriterOptions): Promise<GitWriter> {
    const logger = opts.logger.child({ component: 'git-writer', remote: redactUrl(opts.url), branch: opts.branch });
    const lock = lockFor(opts.dir);
    const repo = await lock.run(() => openRepo({ ...opts, logger }));
    const w = new GitWriter(repo, lock, opts.pushIntervalMs ?? DEFAULTS.pushIntervalMs, opts.pushMaxCommits ?? DEFAULTS.pushMaxCommits, logger);
    logger.info({ event: 'git.opened', tip: repo.tip, pending: repo.unpushed.length, files: repo.tree.files.size }, 'git writer ready');
    if (repo.unpushed.length > 0) w.schedule(0);
    return w;
  }

  /** Commits the changes as one commit and returns its sha; unchanged content returns the current tip. */
  commit(input: CommitInput): Promise<string> {
    return this.lock.run(async () => {
      if (this.closed) throw new Error('git writer is closed');
      if (this.broken) await this.reload();
      const before = this.repo.tip;
      let sha: string;
      try {
        sha = commitChanges(this.repo, input);
      } catch (err) {
        // A failure after the tree was touched (disk full, ...) leaves it ahead of the tip.
        if (this.repo.tip === before) this.broken = (err as { code?: string }).code !== 'KUBESCRIBE_ERR_GIT_PATH_UNSAFE';
        throw err;
      }
      if (sha !== before) {
        this.logger.debug({ event: 'git.commit', sha, files: input.changes.length }, 'committed');
        if (this.repo.store.unflushed.bytes > MAX_UNFLUSHED_BYTES) await this.repo.store.flush();
        this.afterCommit();
      }
      return sha;
    });
  }

  /** path → blob id at the local tip, for resync comparisons (see blobOid). Live view: read it between awaits. */
  files(): ReadonlyMap<string, string> {
    return this.repo.tree.files;
  }

  readFile(path: string): Promise<string | undefined> {
    return this.lock.run(async () => {
      const oid = this.repo.tree.files.get(path);
      if (!oid) return undefined;
      const o = await this.repo.store.read(oid, 'blob');
      return Buffer.from(o.body).toString('utf8');
    });
  }

  tip(): string | undefined {
    return this.repo.tip;
  }

  /** Commits not yet on the remote. */
  pending(): number {
    return this.repo.unpushed.length;
  }

  /** Pushes now (after whatever holds the lock) and reports the outcome. */
  flush(): Promise<PushResult> {
    return this.lock.run(() => this.pushNow());
  }

  onPush(cb: (r: PushResult) => void): () => void {
    this.listeners.add(cb);
    return () => { this.listeners.delete(cb); };
  }

  /** Stops the timers and makes one last push attempt; local commits survive a failure. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    await this.lock.run(async () => {
      if (this.repo.unpushed.length > 0) await this.pushNow();
      await this.repo.store.close();
    });
  }

  private async pushNow(): Promise<PushResult> {
    this.clearTimer();
    this.pushQueued = false;
    if (this.repo.unpushed.length === 0) {
      return { ok: true, sha: this.repo.tip, pushedCommits: 0, durationMs: 0, at: new Date() };
    }
    const r = await pushBranch(this.repo);
    if (r.ok) {
      this.failures = 0;
      this.logger.info({ event: 'git.pushed', sha: r.sha, commits: r.pushedCommits, ms: r.durationMs }, 'pushed');
    } else {
      this.failures++;
      const delay = backoffDelay(this.failures);
      this.logger.warn({ event: 'git.push-failed', code: r.error?.code, error: r.error?.message, pending: this.repo.unpushed.length, retryInMs: delay }, 'push failed; commits kept locally');
      if (!this.closed) this.schedule(delay);
    }
    for (const cb of this.listeners) {
      try {
        cb(r);
      } catch (err) {
        this.logger.error({ event: 'git.push-callback-failed', err }, 'push status callback threw');
      }
    }
    return r;
  }

  private afterCommit(): void {
    if (this.failures > 0 && this.timer) return; // backing off: the retry timer is set
    if (this.repo.unpushed.length >= this.pushMaxCommits) {
      // Queued on the lock right behind this commit, not on a timer: a busy queue that commits
      // back to back never yields to timers.
      if (!this.pushQueued) {
        this.pushQueued = true;
        void this.flush();
      }
    } else if (!this.timer) {
      this.schedule(this.pushIntervalMs);
    }
  }

  private schedule(ms: number): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closed) void this.flush();
    }, ms);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async reload(): Promise<void> {
    const commit = this.repo.tip ? await readCommit(this.repo.store, this.repo.tip) : undefined;
    this.repo.tree = await TreeIndex.load(this.repo.store, commit?.tree);
    this.broken = false;
  }
}
