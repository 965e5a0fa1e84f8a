// The objects a set of commits introduced: each commit, and the trees and blobs of its tree that
// its parent's tree does not hold. Exactly what a push of those commits must send when the remote
// has their first parent. Commits this process wrote say what they introduced (Repo.introduced),
// which costs nothing to look up; any other commit (found again after a restart) is diffed
// against its parent, equal subtrees skipped by id: decoding every version of a folder of 10,000
// files that way was half the CPU of a busy writer.
import { decodeTree, EMPTY_TREE, TREE_MODE } from './object-format.ts';
import type { ObjectStore } from './object-store.ts';
import { readCommit } from './repo.ts';

const SUBMODULE_MODE = '160000';

/** The ids of the objects to send, oldest commit first. */
export async function collectObjects(store: ObjectStore, commits: readonly string[], known: ReadonlyMap<string, readonly string[]> = new Map()): Promise<string[]> {
  const oids = new Set<string>();
  const treeEntries = async (oid: string | undefined): Promise<Map<string, { mode: string; oid: string }>> => {
    if (!oid || oid === EMPTY_TREE) return new Map();
    return new Map(decodeTree((await store.read(oid, 'tree')).body).map((e) => [e.name, e]));
  };
  const walk = async (tree: string, old: string | undefined): Promise<void> => {
    if (tree === old || oids.has(tree)) return;
    oids.add(tree);
    const [now, before] = await Promise.all([treeEntries(tree), treeEntries(old)]);
    for (const [name, e] of now) {
      const prev = before.get(name);
      if (prev?.oid === e.oid || e.mode === SUBMODULE_MODE) continue;
      if (e.mode === TREE_MODE) await walk(e.oid, prev?.mode === TREE_MODE ? prev.oid : undefined);
      else oids.add(e.oid);
    }
  };
  for (const oid of commits) {
    const listed = known.get(oid);
    if (listed) {
      for (const o of listed) oids.add(o);
      continue;
    }
    const c = await readCommit(store, oid);
    if (!c) throw new Error(`commit ${oid} is missing locally`);
    oids.add(oid);
    const parentTree = c.parents[0] ? (await readCommit(store, c.parents[0]))?.tree : undefined;
    await walk(c.tree, parentTree);
  }
  return [...oids];
}
