// Issue 18: a big folder that goes back to an earlier version must never be stored as a delta of
// its own successor (A -> B -> A). The first test is the minimal reproduction through the public
// writing path; the second draws thousands of writes from a small set of contents, so versions
// return often, with flushes, pushes (forgetRecent), crashes (reopen) and cache evictions between.
import { execFile } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { blobOid, hashObject } from './blob-oid.ts';
import { packPieces } from './build-pack.ts';
import { ObjectStore, type DeltaBase } from './object-store.ts';
import { seededRandom } from '../sanitize/testing/fixtures.ts';
import { freshBareRepoPerTest } from './testing/bare-repo.ts';

const exec = promisify(execFile);

/**
 * A real tree of 200 files (~7 KB, over the delta threshold) whose entry 100 points at another
 * blob per variant: versions of one folder differ in one entry, as in the writer.
 */
function bigBody(variant: number, family = 0): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < 200; i++) {
    const blob = blobOid(i === 100 ? `variant ${variant}\n` : `family ${family} file ${i}\n`);
    parts.push(Buffer.from(`100644 f${family}-${String(i).padStart(4, '0')}.yaml\0`), Buffer.from(blob, 'hex'));
  }
  return Buffer.concat(parts);
}

describe('delta chains never cycle', () => {
  let dir: string;
  freshBareRepoPerTest('delta-cycle-', (d) => { dir = d; });

  /** The blobs the trees of bigBody name, so that git finds every object they point at. */
  function writeBlobs(store: ObjectStore, variants: number, families: number): string[] {
    const oids: string[] = [];
    for (let f = 0; f < families; f++) for (let i = 0; i < 200; i++) if (i !== 100) oids.push(store.write('blob', Buffer.from(`family ${f} file ${i}\n`)));
    for (let v = 0; v < variants; v++) oids.push(store.write('blob', Buffer.from(`variant ${v}\n`)));
    return oids;
  }

  async function expectGitAccepts(store: ObjectStore, oids: string[]): Promise<void> {
    // What a push sends: the objects as pack entries in order, deltas where their base came first.
    const pack = Buffer.concat(packPieces(await store.packObjects(oids), { index: false, refDelta: true }).pieces);
    const file = join(dir, 'pushed.pack');
    await writeFile(file, pack);
    await exec('git', ['--git-dir', dir, 'index-pack', '--strict', file]);
    await exec('git', ['--git-dir', dir, 'fsck', '--strict', '--no-dangling']);
  }

  it('a version that comes back (A, B, A, B) is read and packed, after the body cache moved on', async () => {
    const store = await ObjectStore.open(dir, 'main');
    const blobs = writeBlobs(store, 3, 13);
    const A = bigBody(1);
    const B = bigBody(2);
    const a = store.write('tree', A);
    await store.flush(); // A in a pack; still in memory as a base
    const b = store.write('tree', B, undefined, { oid: a, body: A });
    expect(store.write('tree', A, undefined, { oid: b, body: B })).toBe(a);
    expect(store.write('tree', B, undefined, { oid: a, body: A })).toBe(b);
    // A dozen other big delta chains, so that no rebuilt body of A or B is still cached.
    for (let f = 1; f <= 12; f++) {
      let prev: DeltaBase | undefined;
      for (let v = 0; v < 3; v++) {
        const body = bigBody(v, f);
        prev = { oid: store.write('tree', body, undefined, prev), body };
      }
    }
    expect(Buffer.from((await store.read(a, 'tree')).body).equals(A)).toBe(true);
    expect(Buffer.from((await store.read(b, 'tree')).body).equals(B)).toBe(true);
    await expectGitAccepts(store, [...blobs, b, a]);
    await store.flush();
    await store.close();
    const reopened = await ObjectStore.open(dir, 'main');
    expect(Buffer.from((await reopened.read(b, 'tree')).body).equals(B)).toBe(true);
    await reopened.close();
  });

  it.each([1, 2, 3])('thousands of writes from a small set of contents stay readable and acceptable to git (seed %i)', async (seed) => {
    const random = seededRandom(seed);
    let store = await ObjectStore.open(dir, 'main');
    const blobs = writeBlobs(store, 5, 4);
    const bodies = new Map<string, Buffer>();
    const variants = Array.from({ length: 5 }, (_, v) => Array.from({ length: 4 }, (_, f) => bigBody(v, f)));
    // Per folder family, the version last written: the base of the next, as the tree index does.
    const last: Array<DeltaBase | undefined> = [undefined, undefined, undefined, undefined];
    let mark = store.mark();
    let sinceTip: string[] = [...blobs];
    for (let i = 0; i < 2500; i++) {
      const f = Math.floor(random() * 4);
      const body = variants[Math.floor(random() * 5)]![f]!;
      const oid = store.write('tree', body, undefined, last[f]);
      expect(oid).toBe(hashObject('tree', body));
      bodies.set(oid, body);
      last[f] = { oid, body };
      sinceTip.push(oid);
      const r = random();
      if (r < 0.05) store.setTip(undefined); // journal what was written (as a commit does)
      else if (r < 0.08) {
        store.setTip(undefined);
        await store.flush(); // a push packs
        mark = store.mark();
      } else if (r < 0.10) store.forgetRecent(mark); // the push landed
      else if (r < 0.11) {
        store.setTip(undefined);
        // A crash: reopen from the journal and packs; the bases in memory are gone.
        store = await ObjectStore.open(dir, 'main');
        last.fill(undefined);
        mark = store.mark();
      }
      if (i % 500 === 499) {
        for (const [o, b] of bodies) expect(Buffer.from((await store.read(o, 'tree')).body).equals(b), o).toBe(true);
        await expectGitAccepts(store, [...new Set(sinceTip)]);
        sinceTip = [...blobs];
      }
    }
    store.setTip(undefined);
    await store.close();
    const reopened = await ObjectStore.open(dir, 'main');
    for (const [o, b] of bodies) expect(Buffer.from((await reopened.read(o, 'tree')).body).equals(b)).toBe(true);
    await reopened.close();
    for (const idx of (await readdir(join(dir, 'objects', 'pack'))).filter((f) => f.endsWith('.idx'))) {
      await exec('git', ['verify-pack', join(dir, 'objects', 'pack', idx)]);
    }
    await exec('git', ['--git-dir', dir, 'fsck', '--strict', '--no-dangling']);
  });
});
