import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { appendFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { blobOid } from './blob-oid.ts';
import { packPieces, writePack } from './build-pack.ts';
import { encodeCommit, formatIdent } from './object-format.ts';
import { DiskObjects } from './disk-objects.ts';
import { ObjectStore } from './object-store.ts';
import { TreeIndex } from './tree-index.ts';
import { freshBareRepoPerTest } from './testing/bare-repo.ts';

const exec = promisify(execFile);

describe('ObjectStore', () => {
  let dir: string;
  freshBareRepoPerTest('object-store-', (d) => { dir = d; });

  /**
   * Commits into a big folder as the writer does (one tree index kept across commits), after a seed
   * of 400 files; `sent` collects what each commit introduced (blobs, trees, the commit), in the
   * order a push sends it.
   */
  async function folderHistory(store: ObjectStore): Promise<{ commit: (changes: Record<string, string>) => void; sent: string[]; tip: () => string }> {
    const tree = await TreeIndex.load(store, undefined);
    const ident = formatIdent({ name: 'alice', email: 'a@example.com' }, 1_700_000_000);
    let tip: string | undefined;
    const sent: string[] = [];
    const commit = (changes: Record<string, string>): void => {
      const written: string[] = [];
      const blobs = Object.entries(changes).map(([path, content]) => ({ path, oid: store.write('blob', Buffer.from(content)) }));
      tree.apply(blobs);
      tree.write(store, written);
      tip = store.write('commit', encodeCommit({ tree: written.at(-1)!, parents: tip ? [tip] : [], author: ident, committer: ident, message: 'm' }));
      store.setTip(tip);
      sent.push(...blobs.map((b) => b.oid), ...written, tip);
    };
    const seed: Record<string, string> = {};
    for (let i = 0; i < 400; i++) seed[`ns/core/configmaps/cm-${i}.yaml`] = `i: ${i}\n`;
    commit(seed);
    return { commit, sent, tip: () => tip! };
  }

  async function commitFiles(store: ObjectStore, files: Record<string, string>, parent?: string): Promise<string> {
    const tree = await TreeIndex.load(store, undefined);
    const changes = Object.entries(files).map(([path, content]) => ({ path, oid: store.write('blob', Buffer.from(content)) }));
    tree.apply(changes);
    const ident = formatIdent({ name: 'alice', email: 'a@example.com' }, 1_700_000_000);
    const oid = store.write('commit', encodeCommit({ tree: tree.write(store), parents: parent ? [parent] : [], author: ident, committer: ident, message: 'm' }));
    store.setTip(oid);
    return oid;
  }

  it('writes packs that git reads and verifies', async () => {
    const store = await ObjectStore.open(dir, 'main');
    const files: Record<string, string> = {};
    for (let i = 0; i < 300; i++) files[`ns-${i % 7}/core/configmaps/cm-${i}.yaml`] = `v: ${i}\n`.repeat(i % 5 + 1);
    const tip = await commitFiles(store, files);
    await store.close();
    const packs = (await readdir(join(dir, 'objects', 'pack'))).filter((f) => f.endsWith('.pack'));
    expect(packs).toHaveLength(1);
    await exec('git', ['verify-pack', join(dir, 'objects', 'pack', packs[0]!)]);
    await exec('git', ['--git-dir', dir, 'fsck', '--strict', '--no-dangling']);
    expect((await exec('git', ['--git-dir', dir, 'rev-parse', 'main'])).stdout.trim()).toBe(tip);
    const ls = (await exec('git', ['--git-dir', dir, 'ls-tree', '-r', 'main'])).stdout.trim().split('\n');
    expect(ls).toHaveLength(300);
    expect(ls).toContain(`100644 blob ${blobOid('v: 5\n')}\tns-5/core/configmaps/cm-5.yaml`);
  });

  it('recovers journaled commits after a crash and drops a torn last commit', async () => {
    const store = await ObjectStore.open(dir, 'main');
    const first = await commitFiles(store, { 'a.yaml': 'a' });
    const second = await commitFiles(store, { 'b.yaml': 'b' }, first);
    // A crash: no flush, and half of a third commit's objects written.
    store.write('blob', Buffer.from('torn'));
    store.setTip(undefined);
    await appendFile(join(dir, 'kubescribe.journal'), Buffer.from([3, 0, 0, 0, 99, 1, 2]));

    const reopened = await ObjectStore.open(dir, 'main');
    expect(reopened.getTip()).toBe(second);
    expect(await reopened.readRef('refs/heads/main')).toBe(second);
    expect(await reopened.tryRead(blobOid('torn'))).toBeUndefined();
    expect((await reopened.read(first, 'commit')).type).toBe('commit');
    expect(fs.statSync(join(dir, 'kubescribe.journal')).size).toBe(0);
    await reopened.close();
    await exec('git', ['--git-dir', dir, 'fsck', '--strict']);
  });

  it('keeps new versions of a big folder as deltas: small in memory and journal, recovered after a crash, packed so git reads them', async () => {
    const store = await ObjectStore.open(dir, 'main');
    const tree = await TreeIndex.load(store, undefined);
    const ident = formatIdent({ name: 'alice', email: 'a@example.com' }, 1_700_000_000);
    let tip: string | undefined;
    const trees: string[] = [];
    const commit = (changes: Record<string, string>): void => {
      tree.apply(Object.entries(changes).map(([path, content]) => ({ path, oid: store.write('blob', Buffer.from(content)) })));
      const root = tree.write(store);
      trees.push(root);
      tip = store.write('commit', encodeCommit({ tree: root, parents: tip ? [tip] : [], author: ident, committer: ident, message: 'm' }));
      store.setTip(tip);
    };
    const seed: Record<string, string> = {};
    for (let i = 0; i < 400; i++) seed[`ns/core/configmaps/cm-${i}.yaml`] = `v: 0\ni: ${i}\n`;
    commit(seed);
    for (let k = 1; k <= 120; k++) {
      commit({ [`ns/core/configmaps/cm-${(k * 37) % 400}.yaml`]: `v: ${k}\n` });
      if (k === 100) await store.flush(); // later deltas have their base in a pack on disk
    }
    expect(store.unflushed.bytes).toBeLessThan(30 * 2000); // ~17 KB a folder version if stored whole
    const journal = fs.statSync(join(dir, 'kubescribe.journal')).size;
    expect(journal).toBeLessThan(30 * 2000);
    const bodies = await Promise.all(trees.map(async (t) => Buffer.from((await store.read(t, 'tree')).body)));

    // A crash: the journal holds commits 101..120, their folders as deltas.
    const reopened = await ObjectStore.open(dir, 'main');
    expect(reopened.getTip()).toBe(tip);
    for (const [i, t] of trees.entries()) expect(Buffer.from((await reopened.read(t, 'tree')).body).equals(bodies[i]!)).toBe(true);
    await reopened.close();
    await exec('git', ['--git-dir', dir, 'fsck', '--strict']);
    const idx = (await readdir(join(dir, 'objects', 'pack'))).filter((f) => f.endsWith('.idx')).map((f) => join(dir, 'objects', 'pack', f));
    const verify = (await Promise.all(idx.map(async (f) => (await exec('git', ['verify-pack', '-v', f])).stdout))).join('\n');
    expect(verify).toMatch(/chain length = 50:/);
    expect(verify).not.toMatch(/chain length = (5[1-9]|[6-9]\d|\d{3,}):/); // depth capped at 50
    const listed = (await exec('git', ['--git-dir', dir, 'ls-tree', '-r', tip!])).stdout.trim().split('\n');
    expect(listed).toHaveLength(400);
    expect(listed).toContain(`100644 blob ${blobOid('v: 120\n')}\tns/core/configmaps/cm-${(120 * 37) % 400}.yaml`);
  });

  it('a thin push of 140 versions of a big folder sends none of them whole, and git completes it', async () => {
    const store = await ObjectStore.open(dir, 'main');
    const { commit, sent, tip } = await folderHistory(store);
    // The seed is pushed (the remote has its trees); 140 commits follow in one local pack's time, as
    // in a burst with slow pushes. The first folder version is whole locally, thin in the push.
    const landed = new Set(sent);
    await store.flush();
    const remoteTip = tip();
    sent.length = 0;
    for (let k = 1; k <= 140; k++) commit({ [`ns/core/configmaps/new-${k}.yaml`]: `k: ${k}\n` });
    const entries = await store.packObjects(sent, (oid) => landed.has(oid));
    const depth = new Map<string, number>();
    for (const e of entries) if ('delta' in e) depth.set(e.oid, (depth.get(e.base) ?? 0) + 1);
    expect(entries.filter((e) => 'delta' in e && landed.has(e.base)).length).toBeGreaterThan(0); // thin
    expect(entries.filter((e) => 'body' in e && e.type === 'tree' && e.body.byteLength > 4096)).toEqual([]); // before: each 50th went whole
    expect(Math.max(...depth.values())).toBeLessThanOrEqual(50);
    // git's receive-pack step: index-pack --fix-thin completes it from the repository that has the seed.
    const remote = join(dir, 'remote.git');
    await exec('git', ['init', '--bare', '-q', remote]);
    await exec('git', ['--git-dir', dir, 'push', '-q', remote, `${remoteTip}:refs/heads/main`]);
    const thinPack = join(dir, 'thin.pack');
    fs.writeFileSync(thinPack, Buffer.concat(packPieces(entries, { index: false, refDelta: true, compress: true, thin: true }).pieces));
    await exec('sh', ['-c', `git --git-dir '${remote}' index-pack --stdin --fix-thin --strict < '${thinPack}'`]);
    await exec('git', ['--git-dir', remote, 'update-ref', 'refs/heads/main', tip()]);
    await exec('git', ['--git-dir', remote, 'fsck', '--strict']);
    const listed = (await exec('git', ['--git-dir', remote, 'ls-tree', '-r', 'main'])).stdout.trim().split('\n');
    expect(listed).toHaveLength(540);
    await store.close();
  });

  it('a push pack joins a big folder\'s chains across local packs, never past 50 deep: git verifies it', async () => {
    const store = await ObjectStore.open(dir, 'main');
    const { commit, sent } = await folderHistory(store);
    // Two local packs in one push (a long wait): the first version of the folder in the second is
    // whole there, a delta of the last one of the first pack in the push.
    for (let k = 1; k <= 140; k++) {
      commit({ [`ns/core/configmaps/new-${k}.yaml`]: `k: ${k}\n` });
      if (k === 80) await store.flush();
    }
    const entries = await store.packObjects(sent);
    const depth = new Map<string, number>();
    for (const e of entries) if ('delta' in e) depth.set(e.oid, (depth.get(e.base) ?? 0) + 1);
    expect(Math.max(...depth.values())).toBe(50);
    expect(entries.filter((e) => 'body' in e && e.type === 'tree' && e.body.byteLength > 4096)).toHaveLength(2); // the seed, and one where a chain hit 50
    const pushDir = join(dir, 'push-pack');
    fs.mkdirSync(pushDir);
    const { name } = await writePack(pushDir, entries);
    const verify = (await exec('git', ['verify-pack', '-v', join(pushDir, `${name}.idx`)])).stdout;
    expect(verify).toMatch(/chain length = 50:/);
    expect(verify).not.toMatch(/chain length = (5[1-9]|[6-9]\d|\d{3,}):/);
    await store.close();
  });

  it('packs a big folder without rebuilding it from an older pack: its first version in each pack is kept whole', async () => {
    const store = await ObjectStore.open(dir, 'main');
    const tree = await TreeIndex.load(store, undefined);
    const ident = formatIdent({ name: 'alice', email: 'a@example.com' }, 1_700_000_000);
    let tip: string | undefined;
    const commit = (changes: Record<string, string>): string => {
      tree.apply(Object.entries(changes).map(([path, content]) => ({ path, oid: store.write('blob', Buffer.from(content)) })));
      const root = tree.write(store);
      tip = store.write('commit', encodeCommit({ tree: root, parents: tip ? [tip] : [], author: ident, committer: ident, message: 'm' }));
      store.setTip(tip);
      return root;
    };
    const seed: Record<string, string> = {};
    for (let i = 0; i < 400; i++) seed[`ns/core/configmaps/cm-${i}.yaml`] = `i: ${i}\n`;
    commit(seed);
    await store.flush();
    store.forgetRecent(store.mark());
    const packedReads = vi.spyOn(DiskObjects.prototype, 'readPacked');
    const roots: string[] = [];
    // A burst of creates, packed and pushed every 30 commits: the commits go on during a push,
    // and when it lands the store forgets what the push sent.
    let sent: number | undefined;
    for (let k = 1; k <= 120; k++) {
      roots.push(commit({ [`ns/core/configmaps/new-${k}.yaml`]: `k: ${k}\n` }));
      if (k % 30 === 0) {
        await store.flush();
        sent = store.mark();
      } else if (k % 30 === 5 && sent !== undefined) {
        store.forgetRecent(sent);
      }
    }
    await store.flush();
    expect(packedReads).not.toHaveBeenCalled();
    vi.restoreAllMocks();
    await store.close();
    await exec('git', ['--git-dir', dir, 'fsck', '--strict']);
    const listed = (await exec('git', ['--git-dir', dir, 'ls-tree', '-r', tip!])).stdout.trim().split('\n');
    expect(listed).toHaveLength(520);
    // Every version reads back from the packs (each pack stands alone: git verify-pack checks it).
    for (const f of (await readdir(join(dir, 'objects', 'pack'))).filter((n) => n.endsWith('.idx'))) await exec('git', ['verify-pack', join(dir, 'objects', 'pack', f)]);
    for (const r of roots) await exec('git', ['--git-dir', dir, 'cat-file', '-e', r]);
  });

  it('reads what the git CLI packed with deltas, byte for byte', async () => {
    const work = join(dir, 'work');
    const run = (args: string[]) => exec('git', args, { cwd: work });
    await exec('git', ['init', '--quiet', '--initial-branch=main', work]);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 40; i++) {
        await appendFile(join(work, `f${i}.yaml`), `line ${round} ${'shared text '.repeat(20)} ${i}\n`);
      }
      await run(['add', '-A']);
      await run(['-c', 'user.name=a', '-c', 'user.email=a@b', 'commit', '--quiet', '-m', `r${round}`]);
    }
    await run(['repack', '-adf', '--depth=20', '--window=50']);
    const gitdir = join(work, '.git');
    const store = await ObjectStore.open(gitdir, 'main');
    const all = (await exec('git', ['--git-dir', gitdir, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype)'])).stdout.trim().split('\n');
    const deltas = (await exec('git', ['verify-pack', '-v', ...(await readdir(join(gitdir, 'objects', 'pack'))).filter((f) => f.endsWith('.idx')).map((f) => join(gitdir, 'objects', 'pack', f))])).stdout;
    expect(deltas).toMatch(/blob\s+\d+ \d+ \d+ \d+ [0-9a-f]{40}/); // some blobs are deltas
    for (const line of all) {
      const [oid, type] = line.split(' ') as [string, string];
      const o = await store.read(oid);
      expect(o.type).toBe(type);
      const expected = (await exec('git', ['--git-dir', gitdir, 'cat-file', type, oid], { encoding: 'buffer' })).stdout;
      expect(Buffer.from(o.body).equals(expected)).toBe(true);
    }
    await store.close();
  });
});
