// The public face of the git writer: one GitWriter per (repo, branch). Every operation on the
// repository runs inside its lock (lock.ts); the work itself lives in one file an operation
// (open-repo, commit-changes, push-branch, replay). Pushes are batched: one timer after the first
// unpushed commit, or at once when pushMaxCommits are waiting; one push at a time, and its
// network wait does not hold the lock. After a failure the next try waits with exponential
// backoff (1 s doubling to 30 s) while commits keep piling up locally. A damaged local store
// (KUBESCRIBE_ERR_GIT_STORE_CORRUPT, at open or at a push) is rebuilt from a fresh clone with
// every unpushed commit that can still be read (rebuild-store.ts), and said in storeRepair().
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { KubescribeError } from '../errors.ts';
import { backoffDelay } from '../backoff.ts';
import { blobOid } from './blob-oid.ts';
import { commitChanges } from './commit-changes.ts';
import { compactLogged } from './compact-store.ts';
import { redactUrl, toGitError } from './git-error.ts';
import { lockFor, type RepoLock } from './lock.ts';
import { writeFenceMark, type OpenRepoOptions } from './open-repo.ts';
import { pushBranch } from './push-branch.ts';
import { isStoreDamage, openOrRebuild, rebuildLogged } from './rebuild-store.ts';
import { readCommit, type Repo } from './repo.ts';
import { TreeIndex, type TreeFiles } from './tree-index.ts';
import type { CommitInput, GitWriterOptions, PushResult, StoreRepair } from './types.ts';

/** Push retries: from one second, doubling, capped at 30 s. */
const PUSH_BACKOFF = { baseMs: 1000, capMs: 30_000 } as const;

export { blobOid };
export type { CommitInput, FileChange, GitWriterOptions, PushResult, StoreRepair } from './types.ts';

const DEFAULTS = { pushIntervalMs: 1000, pushMaxCommits: 200, compactAfterBytes: 64 * 1024 * 1024 };
// Pack the journal early when this much waits in memory (a long outage, a huge resync).
const MAX_UNFLUSHED_BYTES = 64 * 1024 * 1024;
const YIELD_EVERY_MS = 10;
// Each pack is an open file: compact before there are many.
const MAX_PACKS = 64;
const openDirs = new Set<string>();
const UNTOUCHED_FAILURES = new Set(['KUBESCRIBE_ERR_GIT_PATH_UNSAFE', 'KUBESCRIBE_ERR_GIT_SIGNING_KEY']);

export class GitWriter {
  private readonly listeners = new Set<(r: PushResult) => void>();
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  /** Aborted by fence(): no push is sent (or fetched and replayed) after that. */
  private readonly fenceSignal = new AbortController();
  private fencing: Promise<void> | undefined;
  private broken = false;
  private pushQueued = false;
  private inflight: Promise<PushResult> | undefined;
  private lastYield = performance.now();
  private repair: StoreRepair | undefined;

  private constructor(
    private repo: Repo,
    private readonly openOptions: OpenRepoOptions,
    private readonly lock: RepoLock,
    private pushIntervalMs: number,
    private pushMaxCommits: number,
    private readonly compactAfterBytes: number,
    private readonly logger: Logger,
  ) {}

  /**
   * Clones (bare, shallow, one branch) into opts.dir or reuses it. A remote without the branch is
   * fine: the first commit starts it. Commits left unpushed by a previous run are pushed soon
   * after (replayed first if the remote moved).
   */
  static async open(opts: GitWriterOptions): Promise<GitWriter> {
    for (const key of ['pushIntervalMs', 'pushMaxCommits', 'compactAfterBytes'] as const) {
      const v = opts[key];
      if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `git writer: ${key} must be a positive number, got ${v}`);
    }
    const dir = resolve(opts.dir);
    // The folder (journal, packs, compaction) belongs to one writer.
    if (openDirs.has(dir)) throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `git writer: ${dir} is already used by another open writer`);
    openDirs.add(dir);
    const logger = opts.logger.child({ component: 'git-writer', remote: redactUrl(opts.url), branch: opts.branch });
    const lock = lockFor(dir);
    const openOptions: OpenRepoOptions = { ...opts, dir, logger };
    let opened: { repo: Repo; repair?: StoreRepair };
    try {
      opened = await openOrRebuild(openOptions, lock);
    } catch (err) {
      openDirs.delete(dir);
      throw err;
    }
    const { repo, repair } = opened;
    const w = new GitWriter(
      repo,
      openOptions,
      lock,
      opts.pushIntervalMs ?? DEFAULTS.pushIntervalMs,
      opts.pushMaxCommits ?? DEFAULTS.pushMaxCommits,
      opts.compactAfterBytes ?? DEFAULTS.compactAfterBytes,
      logger,
    );
    w.repair = repair;
    logger.info({ event: 'git.opened', tip: repo.tip, pending: repo.unpushed.length, files: repo.tree.files.count() }, 'git writer ready');
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
        sha = await commitChanges(this.repo, input);
      } catch (err) {
        // A failure after the tree was touched (disk full, ...) leaves it ahead of the tip. An unsafe
        // path and a missing signing key are found before anything is touched: no reload needed
        // (a change waiting for its signing key is retried often).
        if (this.repo.tip === before) this.broken = !UNTOUCHED_FAILURES.has((err as { code?: string }).code ?? '');
        throw err;
      }
      if (sha !== before) {
        this.logger.debug({ event: 'git.commit', sha, files: input.changes.length }, 'committed');
        if (this.repo.store.unflushed.bytes > MAX_UNFLUSHED_BYTES) await this.repo.store.flush();
        this.afterCommit();
      }
      // A commit does no I/O a caller would wait on, so a backlog committed back to back would
      // never let timers, pushes or other requests run: yield now and then.
      if (performance.now() - this.lastYield > YIELD_EVERY_MS) {
        await new Promise((ok) => setImmediate(ok));
        this.lastYield = performance.now();
      }
      return sha;
    });
  }

  /** path → blob id at the local tip, for resync comparisons (see blobOid). Live view: read it between awaits. */
  files(): TreeFiles {
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

  /** The last repair or rebuild of the local store, if one was needed since the writer opened. */
  storeRepair(): StoreRepair | undefined {
    return this.repair;
  }

  /** New push settings, in force from the next push on: no reopen, so nothing waits or is dropped. */
  reconfigure(o: { pushIntervalMs: number; pushMaxCommits: number }): void {
    for (const [key, v] of Object.entries(o)) {
      if (!(Number.isFinite(v) && v > 0)) throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `git writer: ${key} must be a positive number, got ${v}`);
    }
    this.pushIntervalMs = o.pushIntervalMs;
    this.pushMaxCommits = o.pushMaxCommits;
  }

  /** Commits not yet on the remote. */
  pending(): number {
    return this.repo.unpushed.length;
  }

  /**
   * Pushes every commit made so far, after any push already under way, and reports the outcome.
   * Commits go on meanwhile: only packing and recording the result take the lock.
   */
  flush(): Promise<PushResult> {
    const previous = this.inflight;
    const next = (async () => {
      await previous?.catch(() => undefined);
      return this.pushNow();
    })();
    this.inflight = next;
    const clear = (): void => { if (this.inflight === next) this.inflight = undefined; };
    next.then(clear, clear);
    return next;
  }

  onPush(cb: (r: PushResult) => void): () => void {
    this.listeners.add(cb);
    return () => { this.listeners.delete(cb); };
  }

  /**
   * Leadership lost: from this call on, no commit is made and no push is sent (one under way is
   * cut). The unpushed commits are marked: a later open pushes them only if the branch has not
   * moved (no other leader wrote), and drops them otherwise — never replays them over what a newer
   * leader wrote, which recorded the same changes from its checkpoints. Idempotent; the writer is
   * closed afterwards.
   */
  fence(): Promise<void> {
    this.fencing ??= this.fenceNow();
    return this.fencing;
  }

  private async fenceNow(): Promise<void> {
    this.fenceSignal.abort(new KubescribeError('KUBESCRIBE_ERR_LEADERSHIP_LOST', 'leadership lost: this writer is fenced'));
    const wasClosed = this.closed;
    this.closed = true;
    this.clearTimer();
    await this.inflight?.catch(() => undefined);
    try {
      await this.lock.run(async () => {
        const held = this.repo.unpushed.length;
        if (held > 0) {
          // Marked, not pushed: the next open pushes them only if nobody wrote to the branch since
          // (this replica led again before another took over), and drops them otherwise (open-repo).
          await writeFenceMark(this.repo.dir, this.repo.remoteTip);
          this.logger.warn({ event: 'git.fenced', held }, 'leadership lost: unpushed commits held back (pushed only if the branch has not moved when this replica leads again)');
        }
        if (!wasClosed) await this.repo.store.close();
      });
    } finally {
      openDirs.delete(this.repo.dir);
    }
  }

  /** Stops the timers and makes one last push attempt; local commits survive a failure. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    try {
      await this.flush();
      await this.lock.run(() => this.repo.store.close());
    } finally {
      openDirs.delete(this.repo.dir);
    }
  }

  private async pushNow(mayRebuild = true): Promise<PushResult> {
    this.clearTimer();
    this.pushQueued = false;
    if (this.repo.unpushed.length === 0) {
      return { ok: true, sha: this.repo.tip, pushedCommits: 0, durationMs: 0, at: new Date() };
    }
    let r: PushResult;
    try {
      r = await pushBranch(this.repo, this.lock, this.fenceSignal.signal);
    } catch (err) {
      r = { ok: false, sha: this.repo.tip, pushedCommits: 0, durationMs: 0, at: new Date(), error: toGitError(err, this.repo.url, 'push') };
    }
    // Fenced meanwhile: this replica no longer leads, so it reports nothing (no status write).
    if (this.fenceSignal.signal.aborted) return r;
    if (!r.ok && isStoreDamage(r.error) && !this.closed && mayRebuild) {
      try {
        const rebuilt = await this.lock.run(async () => {
          await this.repo.store.close().catch(() => undefined);
          return rebuildLogged(this.openOptions, r.error);
        });
        this.repo = rebuilt.repo;
        this.repair = rebuilt.repair;
        return this.pushNow(false);
      } catch (err) {
        this.logger.error({ event: 'git.store-rebuild-failed', err: (err as Error).message }, 'could not rebuild the damaged local store; will try again');
      }
    }
    if (r.ok) {
      this.failures = 0;
      this.logger.info({ event: 'git.pushed', sha: r.sha, commits: r.pushedCommits, ms: r.durationMs }, 'pushed');
      const store = this.repo.store;
      if (store.packedBytes > this.compactAfterBytes || store.packCount > MAX_PACKS) await compactLogged(this.repo, this.lock, this.logger);
    } else {
      this.failures++;
      const delay = backoffDelay(this.failures, PUSH_BACKOFF);
      this.logger.warn({ event: 'git.push-failed', code: r.error?.code, error: r.error?.message, pending: this.repo.unpushed.length, retryInMs: delay }, 'push failed; commits kept locally');
      if (!this.closed) this.schedule(delay);
    }
    if (this.repair) r.storeRepair = this.repair;
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
