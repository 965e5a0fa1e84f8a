// The objects a set of commits introduced: each commit, and the trees and blobs of its tree that
// its parent's tree does not hold (equal subtrees are skipped by id). Exactly what a push of
// those commits must send when the remote has their first parent.
import { decodeTree, EMPTY_TREE, TREE_MODE } from './object-format.ts';
import type { PackObject } from './build-pack.ts';
import type { ObjectStore } from './object-store.ts';
import { readCommit } from './repo.ts';

const SUBMODULE_MODE = '160000';

export async function collectObjects(store: ObjectStore, commits: readonly string[]): Promise<PackObject[]> {
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
    const c = await readCommit(store, oid);
    if (!c) throw new Error(`commit ${oid} is missing locally`);
    oids.add(oid);
    const parentTree = c.parents[0] ? (await readCommit(store, c.parents[0]))?.tree : undefined;
    await walk(c.tree, parentTree);
  }
  const out: PackObject[] = [];
  for (const oid of oids) {
    const o = await store.read(oid);
    out.push({ oid, type: o.type, body: o.body });
  }
  return out;
}
