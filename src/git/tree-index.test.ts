import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { encodeCommit, formatIdent } from './object-format.ts';
import { ObjectStore } from './object-store.ts';
import { TreeIndex, type BlobChange } from './tree-index.ts';
import { freshBareRepoPerTest } from './testing/bare-repo.ts';

const exec = promisify(execFile);

describe('TreeIndex', () => {
  let dir: string;
  freshBareRepoPerTest('tree-index-', (d) => { dir = d; });

  it('writes the same trees when it patches ids into a big folder as when it serializes everything, and git agrees', async () => {
    const store = await ObjectStore.open(dir, 'main');
    const blob = (s: string): string => store.write('blob', Buffer.from(s));
    let seed = 5;
    const rnd = (n: number): number => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed % n;
    };
    // A big flat folder, a big folder with subfolders whose names sort around files ('a' < 'a-b' < 'a/' < 'a0'), and small ones.
    const paths = [
      ...Array.from({ length: 300 }, (_, i) => `ns/core/configmaps/cm-${i}.yaml`),
      ...Array.from({ length: 200 }, (_, i) => `big/f-${i}.yaml`),
      'big/a/x.yaml', 'big/a-b', 'big/a0', 'big/a.yaml', 'big/sub/deeper/y.yaml',
      'small/one.yaml', 'small/two.yaml',
    ];
    const tree = await TreeIndex.load(store, undefined);
    tree.apply(paths.map((path, i) => ({ path, oid: blob(`v0 ${i}`) })));
    let root = tree.write(store);
    const ident = formatIdent({ name: 'a', email: 'a@example.com' }, 1_700_000_000);
    let tip: string | undefined;
    for (let k = 1; k <= 200; k++) {
      const changes: BlobChange[] = [];
      const n = 1 + rnd(3);
      for (let j = 0; j < n; j++) {
        const path = paths[rnd(paths.length)]!;
        const op = rnd(10);
        changes.push({ path, oid: op === 0 ? null : blob(`v${k} ${path} ${j}`) }); // mostly updates, some deletes (re-created later)
      }
      if (k % 17 === 0) changes.push({ path: `big/new-${k}.yaml`, oid: blob(`new ${k}`) });
      tree.apply(changes);
      root = tree.write(store);
      const fresh = await TreeIndex.load(store, undefined);
      fresh.apply([...tree.files].map(([path, oid]) => ({ path, oid })));
      expect(fresh.write(store)).toBe(root);
      tip = store.write('commit', encodeCommit({ tree: root, parents: tip ? [tip] : [], author: ident, committer: ident, message: `${k}\n` }));
      store.setTip(tip);
    }
    await store.close();
    await exec('git', ['--git-dir', dir, 'fsck', '--strict']); // checks entry order and modes of every tree
    const listed = (await exec('git', ['--git-dir', dir, 'ls-tree', '-r', 'main'], { maxBuffer: 1 << 24 })).stdout.trim().split('\n');
    expect(listed).toHaveLength(tree.files.size);
  });
});
