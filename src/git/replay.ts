// Bringing local commits back in line with a remote branch that moved. After a fetch, our
// unpushed commits are either already there (a push that landed before a crash), or the remote
// went on without them: then each is replayed on the new tip, its file changes applied on top of
// theirs, author and message kept, so both histories survive. A commit whose changes the remote
// already has becomes empty and is dropped, as commit() never writes empty commits either.
import { diffTrees } from './diff-trees.ts';
import { formatIdent } from './object-format.ts';
import { encodeSignedCommit } from './sign-commit.ts';
import { readCommit, type Repo } from './repo.ts';
import { TreeIndex } from './tree-index.ts';

/** Commits reachable from `from`, not walking past `stop` commits or the end of local history. */
async function reachable(repo: Repo, from: string, stop: ReadonlySet<string>, limit = 100_000): Promise<Set<string>> {
  const seen = new Set<string>();
  const queue = [from];
  while (queue.length > 0 && seen.size < limit) {
    const oid = queue.shift()!;
    if (seen.has(oid)) continue;
    seen.add(oid);
    if (stop.has(oid)) continue;
    const c = await readCommit(repo.store, oid);
    if (c) queue.push(...c.parents);
  }
  return seen;
}

/**
 * Reconciles the local branch with the remote tip just fetched. `previousRemote` is the remote tip
 * known before the fetch: history below it is shared and need not be walked.
 */
export async function syncWithRemote(repo: Repo, remoteTip: string | undefined, previousRemote: string | undefined): Promise<void> {
  if (remoteTip === undefined || remoteTip === repo.tip) {
    if (remoteTip !== undefined) repo.unpushed = [];
    return;
  }
  const stop = new Set(repo.unpushed);
  if (previousRemote) stop.add(previousRemote);
  const onRemote = await reachable(repo, remoteTip, stop);
  let landed = -1;
  repo.unpushed.forEach((oid, i) => { if (onRemote.has(oid)) landed = i; });
  const remaining = repo.unpushed.slice(landed + 1);
  if (landed >= 0) repo.logger.info({ event: 'git.already-pushed', commits: landed + 1 }, 'remote already has some of our commits');

  if (remaining.length === 0) {
    // The remote has everything we have (and maybe more): move to its tip.
    repo.store.setTip(remoteTip);
    repo.tip = remoteTip;
    repo.unpushed = [];
    repo.tree = await TreeIndex.load(repo.store, (await readCommit(repo.store, remoteTip))?.tree);
    return;
  }
  const first = await readCommit(repo.store, remaining[0]!);
  if (first?.parents[0] === remoteTip) {
    repo.unpushed = remaining;
    return;
  }
  await replay(repo, remaining, remoteTip);
}

/** Re-applies each commit's file changes on top of `onto`, keeping author and message. */
export async function replay(repo: Repo, commits: readonly string[], onto: string): Promise<void> {
  const base = await readCommit(repo.store, onto);
  if (!base) throw new Error(`remote tip ${onto} is missing locally`);
  const tree = await TreeIndex.load(repo.store, base.tree);
  const now = Math.floor(Date.now() / 1000);
  let parent = onto;
  const replayed: string[] = [];
  let dropped = 0;
  for (const oid of commits) repo.introduced.delete(oid);
  for (const oid of commits) {
    const c = await readCommit(repo.store, oid);
    if (!c) throw new Error(`local commit ${oid} is missing`);
    const before = c.parents[0] ? (await readCommit(repo.store, c.parents[0]))?.tree : undefined;
    const changes = await diffTrees(repo.store, before, c.tree);
    const effective = tree.apply(changes);
    if (effective.length === 0) {
      dropped++;
      continue;
    }
    const introduced: string[] = [];
    for (const e of effective) if (e.oid !== null) introduced.push(e.oid);
    parent = repo.store.write('commit', await encodeSignedCommit(repo.signing(), {
      tree: tree.write(repo.store, introduced),
      parents: [parent],
      author: c.author,
      committer: formatIdent(repo.committer, now),
      message: c.message,
    }));
    replayed.push(parent);
    introduced.push(parent);
    repo.introduced.set(parent, introduced);
  }
  repo.store.setTip(parent);
  repo.tip = parent;
  repo.tree = tree;
  repo.unpushed = replayed;
  repo.logger.info({ event: 'git.replayed', onto, commits: replayed.length, dropped }, 'replayed local commits on the new remote tip');
}
