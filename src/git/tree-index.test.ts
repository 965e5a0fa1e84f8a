import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { compareTreeNames, decodeTree, encodeCommit, formatIdent, TREE_MODE } from './object-format.ts';
import { ObjectStore } from './object-store.ts';
import { TreeIndex, type BlobChange } from './tree-index.ts';
import { reduceMemory } from '../reduce-memory.ts';
import { freshBareRepoPerTest } from './testing/bare-repo.ts';

const exec = promisify(execFile);

/** A repeatable random integer below n (a linear congruential generator). */
function seededRandom(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed % n;
  };
}

describe('TreeIndex', () => {
  let dir: string;
  freshBareRepoPerTest('tree-index-', (d) => { dir = d; });

  it('writes the same trees when it patches ids into a big folder as when it serializes everything, and git agrees', async () => {
    const store = await ObjectStore.open(dir, 'main');
    const blob = (s: string): string => store.write('blob', Buffer.from(s));
    const rnd = seededRandom(5);
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
    expect(listed).toHaveLength(tree.files.count());
  });

  it('writes a burst of creates into a big folder without a new buffer a commit, in git\'s order', async () => {
    const store = await ObjectStore.open(dir, 'main');
    const blob = (s: string): string => store.write('blob', Buffer.from(s));
    const tree = await TreeIndex.load(store, undefined);
    tree.apply(Array.from({ length: 500 }, (_, i) => ({ path: `ns/core/configmaps/cm-${i}.yaml`, oid: blob(`v0 ${i}`) })));
    tree.write(store);
    const allocations = vi.spyOn(Buffer, 'allocUnsafeSlow');
    const unpooled = vi.spyOn(Buffer, 'allocUnsafe');
    let root = '';
    const creates = 300;
    try {
      for (let k = 0; k < creates; k++) {
        // Names that sort before, between and after the existing ones; a deletion now and then.
        const changes: BlobChange[] = [{ path: `ns/core/configmaps/${['a', 'cm-2', 'z'][k % 3]}-${k}.yaml`, oid: blob(`new ${k}`) }];
        if (k % 10 === 0) changes.push({ path: `ns/core/configmaps/cm-${k}.yaml`, oid: null });
        tree.apply(changes);
        root = tree.write(store);
      }
    } finally {
      vi.restoreAllMocks();
    }
    // ~20 KB a version, growing by ~40 bytes a create: the buffers' room to grow (1/16) lasts ~30 creates.
    const big = allocations.mock.calls.filter(([n]) => n >= 4096).length + unpooled.mock.calls.filter(([n]) => n >= 4096).length;
    expect(big).toBeLessThan(creates / 10);
    const fresh = await TreeIndex.load(store, undefined);
    fresh.apply([...tree.files].map(([path, oid]) => ({ path, oid })));
    expect(fresh.write(store)).toBe(root);
    const ident = formatIdent({ name: 'a', email: 'a@example.com' }, 1_700_000_000);
    store.setTip(store.write('commit', encodeCommit({ tree: root, parents: [], author: ident, committer: ident, message: 'burst\n' })));
    await store.close();
    await exec('git', ['--git-dir', dir, 'fsck', '--strict']);
  });

  it('lays out creates, deletes, new folders and mode changes from the last version, byte for byte as git does, encoding only what is new', async () => {
    const store = await ObjectStore.open(dir, 'main');
    const blob = (s: string): string => store.write('blob', Buffer.from(s));
    const rnd = seededRandom(11);
    // A big folder as another tool left it: an executable and a symlink among 400 files.
    const names = Array.from({ length: 400 }, (_, i) => `cm-${i}.yaml`).concat(['run.sh', 'link']).sort();
    const body = Buffer.concat(names.map((n) => Buffer.concat([
      Buffer.from(`${n === 'run.sh' ? '100755' : n === 'link' ? '120000' : '100644'} ${n}\0`), Buffer.from(blob(`v0 ${n}`), 'hex'),
    ])));
    const folder = store.write('tree', body);
    const root = store.write('tree', Buffer.concat([Buffer.from('40000 big\0'), Buffer.from(folder, 'hex')]));
    const tree = await TreeIndex.load(store, root);
    const modes = new Map([['big/run.sh', '100755'], ['big/link', '120000']]);
    const ident = formatIdent({ name: 'a', email: 'a@example.com' }, 1_700_000_000);
    let tip = store.write('commit', encodeCommit({ tree: root, parents: [], author: ident, committer: ident, message: 'start\n' }));
    // The first write after a load encodes the folder; from then on it is laid out.
    tree.apply([{ path: 'big/cm-0.yaml', oid: blob('v1 cm-0') }]);
    tree.write(store);
    for (let k = 1; k <= 150; k++) {
      const changes: BlobChange[] = [];
      const n = 1 + rnd(4);
      for (let j = 0; j < n; j++) {
        const op = rnd(6);
        const existing = [...tree.files.keys()];
        if (op === 0) changes.push({ path: existing[rnd(existing.length)]!, oid: null });
        else if (op === 1) changes.push({ path: `big/${['a', 'cm-1', 'cm-5x', 'z'][rnd(4)]}-${k}-${j}.yaml`, oid: blob(`new ${k} ${j}`) });
        else if (op === 2) changes.push({ path: `big/${['cm-3', 'cm-3.yaml.d', 'sub'][rnd(3)]}/f-${k}.yaml`, oid: blob(`deep ${k}`) }); // folders sorting among files
        else changes.push({ path: existing[rnd(existing.length)]!, oid: blob(`v${k} ${j}`) });
      }
      if (k === 40) changes.push({ path: 'big/run.sh', oid: blob('now a plain file') }, { path: 'big/link', oid: null });
      const encoded = vi.spyOn(Buffer.prototype, 'write');
      let written: string;
      try {
        tree.apply(changes);
        written = tree.write(store);
      } finally {
        vi.restoreAllMocks();
      }
      // Into the big folder's bytes only new entries and changed ids are encoded (a head and an id
      // each), not the ~400 others; small folders are encoded whole.
      const intoBig = encoded.mock.contexts.filter((b) => (b as Buffer).byteLength >= 4096).length;
      expect(intoBig).toBeLessThanOrEqual(2 * changes.length + 1);
      // What the written tree holds, read back entry by entry, in git's order in every folder.
      const listed = new Map<string, string>();
      const walk = async (oid: string, prefix: string): Promise<void> => {
        const entries = decodeTree((await store.read(oid, 'tree')).body);
        for (const [i, e] of entries.entries()) {
          const prev = entries[i - 1];
          if (prev) expect(compareTreeNames(prev.name, prev.mode === TREE_MODE, e.name, e.mode === TREE_MODE)).toBeLessThan(0);
          if (e.mode === TREE_MODE) await walk(e.oid, `${prefix}${e.name}/`);
          else listed.set(`${prefix}${e.name}`, `${e.mode} ${e.oid}`);
        }
      };
      await walk(written, '');
      for (const c of changes) modes.delete(c.path); // set or deleted through kubescribe: a plain file from then on
      expect(listed).toEqual(new Map([...tree.files].map(([path, oid]) => [path, `${modes.get(path) ?? '100644'} ${oid}`])));
      // The lookups walk the same folders: each changed path as written, folders are not files.
      expect(tree.files.count()).toBe(listed.size);
      for (const c of changes) {
        expect(tree.files.get(c.path)).toBe(listed.get(c.path)?.split(' ')[1]);
        expect(tree.files.has(c.path)).toBe(listed.has(c.path));
      }
      for (const folderPath of ['big', 'big/sub', 'big/cm-3', 'big/', '']) expect(tree.files.has(folderPath)).toBe(false);
      tip = store.write('commit', encodeCommit({ tree: written, parents: [tip], author: ident, committer: ident, message: `${k}\n` }));
      store.setTip(tip);
    }
    await store.close();
    await exec('git', ['--git-dir', dir, 'fsck', '--strict']);
  });

  it('keeps no small Buffer per entry, which would pin whole 8 KiB slabs of the shared pool', async () => {
    const store = await ObjectStore.open(dir, 'main');
    const tree = await TreeIndex.load(store, undefined);
    await reduceMemory();
    const before = process.memoryUsage().arrayBuffers;
    let garbage: Buffer | undefined;
    for (let k = 0; k < 3000; k++) {
      // What the process allocates between two creates (requests, watch events): pooled, then dropped.
      garbage = Buffer.from('x'.repeat(3000));
      tree.apply([{ path: `ns/core/configmaps/cm-${k}.yaml`, oid: store.write('blob', Buffer.from(`v ${k}`)) }]);
      tree.write(store);
    }
    await store.flush();
    store.forgetRecent(store.mark());
    garbage = undefined;
    await reduceMemory();
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(garbage).toBeUndefined();
    // The folder's bytes (~120 KB, twice, with room to grow) and the store's caches; a Buffer a
    // header kept ~1,500 slabs (12 MiB) here.
    expect(grown).toBeLessThan(4 * 1024 * 1024);
    await store.close();
  });
});
