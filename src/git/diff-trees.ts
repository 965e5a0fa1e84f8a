// The file changes between two trees, as blob ids: what replay re-applies on a new remote tip
// and what crash recovery derives from commits on disk. Unchanged subtrees are skipped by id.
import { decodeTree, EMPTY_TREE, TREE_MODE, type TreeEntry } from './object-format.ts';
import type { ObjectStore } from './object-store.ts';
import type { BlobChange } from './tree-index.ts';

async function entries(store: ObjectStore, oid: string | undefined): Promise<Map<string, TreeEntry>> {
  if (!oid || oid === EMPTY_TREE) return new Map();
  const { body } = await store.read(oid, 'tree');
  return new Map(decodeTree(body).map((e) => [e.name, e]));
}

export async function diffTrees(store: ObjectStore, from: string | undefined, to: string | undefined, prefix = ''): Promise<BlobChange[]> {
  if (from === to) return [];
  const [a, b] = await Promise.all([entries(store, from), entries(store, to)]);
  const out: BlobChange[] = [];
  for (const [name, eb] of b) {
    const ea = a.get(name);
    if (ea && ea.oid === eb.oid && ea.mode === eb.mode) continue;
    const path = prefix + name;
    const aTree = ea?.mode === TREE_MODE;
    const bTree = eb.mode === TREE_MODE;
    if (bTree) {
      if (ea && !aTree) out.push({ path, oid: null });
      out.push(...(await diffTrees(store, aTree ? ea.oid : undefined, eb.oid, `${path}/`)));
    } else {
      if (aTree) out.push(...(await diffTrees(store, ea.oid, undefined, `${path}/`)));
      out.push({ path, oid: eb.oid });
    }
  }
  for (const [name, ea] of a) {
    if (b.has(name)) continue;
    if (ea.mode === TREE_MODE) out.push(...(await diffTrees(store, ea.oid, undefined, `${prefix}${name}/`)));
    else out.push({ path: prefix + name, oid: null });
  }
  return out;
}
