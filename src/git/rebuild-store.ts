// The way out of a damaged local store (KUBESCRIBE_ERR_GIT_STORE_CORRUPT): never a writer that
// stays unopened. The branch is cloned afresh beside the damaged folder; every unpushed commit of
// the damaged store that can still be read is committed again on the fresh tip (its file changes,
// author and message kept); then the damaged folder is moved aside and the fresh one takes its
// place. Until the swap the damaged folder is untouched, so a failure (the remote unreachable)
// leaves everything as it was for the next try. What could not be read is left to the next
// reconcile, which commits the difference between the cluster and the branch.
import { readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { commitChanges } from './commit-changes.ts';
import { diffTrees } from './diff-trees.ts';
import { ObjectStore } from './object-store.ts';
import { openRepo, type OpenRepoOptions } from './open-repo.ts';
import { readCommit, type Repo } from './repo.ts';
import type { RepoLock } from './lock.ts';
import type { StoreRepair } from './types.ts';

export interface StoreRebuild {
  at: Date;
  /** Why the store was rebuilt. */
  reason: string;
  /** Unpushed commits committed again on the fresh clone. */
  salvaged: number;
  /** Unpushed commits that could not be read (their changes come back with the next reconcile). */
  lost: number;
  /** Where the damaged folder was moved. */
  movedTo: string;
}

export function isStoreDamage(err: unknown): boolean {
  return (err as { code?: string } | undefined)?.code === 'KUBESCRIBE_ERR_GIT_STORE_CORRUPT';
}

/** Unpushed commits of the damaged store, oldest first, as far back as they can be read. */
async function unpushedCommits(store: ObjectStore, branch: string): Promise<{ readable: string[]; unreadable: number }> {
  const base = await store.readRef(`refs/remotes/origin/${branch}`);
  const readable: string[] = [];
  let unreadable = 0;
  let oid = store.getTip();
  while (oid && oid !== base) {
    const c = await readCommit(store, oid).catch(() => undefined);
    if (!c) {
      // Its parent is unknown: everything older is out of reach (counted as one at least).
      unreadable++;
      break;
    }
    readable.push(oid);
    oid = c.parents[0];
  }
  return { readable: readable.reverse(), unreadable };
}

const IDENT = /^(.*) <([^>]*)> (\d+) [+-]\d{4}$/;

/** Commits `commits` of `from` again on repo's tip; returns how many could not be read. */
async function salvage(from: ObjectStore, commits: readonly string[], repo: Repo): Promise<number> {
  let lost = 0;
  for (const oid of commits) {
    if (await repo.store.tryRead(oid).catch(() => undefined)) continue; // the remote has it already
    try {
      const c = (await readCommit(from, oid))!;
      const parentTree = c.parents[0] ? (await readCommit(from, c.parents[0]))?.tree : undefined;
      const changes = [];
      for (const ch of await diffTrees(from, parentTree, c.tree)) {
        changes.push({ path: ch.path, content: ch.oid === null ? null : Buffer.from((await from.read(ch.oid, 'blob')).body).toString('utf8') });
      }
      const who = IDENT.exec(c.author);
      await commitChanges(repo, {
        changes,
        author: who ? { name: who[1]!, email: who[2]!, timestamp: Number(who[3]) } : { name: 'unknown', email: '' },
        message: c.message,
      });
    } catch {
      lost++;
    }
  }
  return lost;
}

/** Rebuilds the writer's folder from a fresh clone, keeping what can be read. Call inside the lock. */
export async function rebuildRepo(opts: OpenRepoOptions, cause: unknown): Promise<{ repo: Repo; rebuild: StoreRebuild }> {
  const dir = opts.dir;
  const fresh = `${dir}.rebuilding`;
  await rm(fresh, { recursive: true, force: true });
  const repo = await openRepo({ ...opts, dir: fresh });
  let salvaged = 0;
  let lost = 0;
  try {
    const damaged = await ObjectStore.open(dir, opts.branch, { readOnly: true }).catch(() => undefined);
    if (damaged) {
      const { readable, unreadable } = await unpushedCommits(damaged, opts.branch);
      const failed = await salvage(damaged, readable, repo);
      salvaged = readable.length - failed;
      lost = unreadable + failed;
      await damaged.close();
    } else {
      lost = 1;
    }
    await repo.store.close();
  } catch (err) {
    await repo.store.close().catch(() => undefined);
    await rm(fresh, { recursive: true, force: true });
    throw err;
  }
  const movedTo = `${dir}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await rename(dir, movedTo);
  await rename(fresh, dir);
  await removeOlderDamaged(dir, movedTo);
  const reopened = await openRepo(opts);
  const reason = cause instanceof Error ? cause.message : String(cause);
  return { repo: reopened, rebuild: { at: new Date(), reason, salvaged, lost, movedTo } };
}

/** Keeps the newest damaged folder only (for a post-mortem), so repeated rebuilds do not fill the disk. */
async function removeOlderDamaged(dir: string, keep: string): Promise<void> {
  const parent = dirname(dir);
  const prefix = `${dir.slice(parent.length + 1)}.damaged-`;
  for (const f of await readdir(parent)) {
    const path = join(parent, f);
    if (f.startsWith(prefix) && path !== keep) await rm(path, { recursive: true, force: true });
  }
}

/**
 * Opens the writer's repository; a journal that only repeats stored objects is repaired in place,
 * a store damaged otherwise is rebuilt from a fresh clone. Call inside the lock's reach (it takes it).
 */
export async function openOrRebuild(opts: OpenRepoOptions, lock: RepoLock): Promise<{ repo: Repo; repair?: StoreRepair }> {
  try {
    const repo = await lock.run(() => openRepo(opts));
    const r = repo.store.repairs;
    if (!r) return { repo };
    opts.logger.warn({ event: 'git.store-repaired', ...r, pending: repo.unpushed.length }, 'repaired the journal of the local store');
    return { repo, repair: { at: new Date(), action: 'repaired', reason: `the journal repeated ${r.duplicates} stored object(s)${r.unreadable ? ` and had ${r.unreadable} unreadable record(s) (kept aside)` : ''}`, salvaged: repo.unpushed.length, lost: r.unreadable } };
  } catch (err) {
    if (!isStoreDamage(err)) throw err;
    return lock.run(() => rebuildLogged(opts, err));
  }
}

/** rebuildRepo with its log lines, as the writer reports it (storeRepair). */
export async function rebuildLogged(opts: OpenRepoOptions, cause: unknown): Promise<{ repo: Repo; repair: StoreRepair }> {
  opts.logger.error({ event: 'git.store-damaged', err: (cause as Error).message }, 'the local store is damaged; rebuilding it from a fresh clone');
  const { repo, rebuild } = await rebuildRepo(opts, cause);
  opts.logger.warn({ event: 'git.store-rebuilt', salvaged: rebuild.salvaged, lost: rebuild.lost, movedTo: rebuild.movedTo, pending: repo.unpushed.length }, 'rebuilt the local store from a fresh clone');
  return { repo, repair: { at: rebuild.at, action: 'rebuilt', reason: rebuild.reason, salvaged: rebuild.salvaged, lost: rebuild.lost } };
}
