// Keeps the local object store from growing without end (in bytes and in pack files, each an
// open file). Once everything is pushed, the remote holds the history: locally only the tip's
// commit, trees and blobs are needed. Compaction writes those into one pack (entries copied as
// they are where possible, so nothing is inflated or deflated again), marks the tip shallow (as a
// depth-1 clone would), then removes every other pack and loose object. A crash half-way leaves
// duplicates, never a gap.
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writePack, type PackObject, type RawEntry } from './build-pack.ts';
import { decodeTree, TREE_MODE } from './object-format.ts';
import { readCommit, type Repo } from './repo.ts';
import type { RepoLock } from './lock.ts';
import type { Logger } from 'pino';

export async function compactStore(repo: Repo): Promise<{ objects: number; bytes: number } | undefined> {
  const tip = repo.tip;
  if (!tip || repo.unpushed.length > 0) return undefined;
  const store = repo.store;
  await store.flush();
  const c = await readCommit(store, tip);
  if (!c) return undefined;
  const objects: (PackObject | RawEntry)[] = [];
  // The tree index holds the tip's big folders whole; in the store they are deltas (bench/folder-creates.ts).
  const kept = repo.tree.keptBodies();
  const add = async (oid: string): Promise<Uint8Array | undefined> => {
    const raw = store.rawEntry(oid);
    if (raw) {
      objects.push({ oid, raw });
      return undefined;
    }
    const k = kept.get(oid);
    const o = k ? { type: 'tree' as const, body: k } : await store.read(oid);
    objects.push({ oid, type: o.type, body: o.body });
    return o.body;
  };
  await add(tip);
  const seen = new Set<string>();
  const walk = async (oid: string): Promise<void> => {
    if (seen.has(oid)) return;
    seen.add(oid);
    const body = (await add(oid)) ?? (await store.read(oid, 'tree')).body;
    for (const e of decodeTree(body)) {
      if (e.mode === TREE_MODE) await walk(e.oid);
      else if (e.mode !== '160000' && !seen.has(e.oid)) {
        seen.add(e.oid);
        await add(e.oid);
      }
    }
  };
  await walk(c.tree);

  const packDir = join(repo.dir, 'objects', 'pack');
  const { name, bytes } = await writePack(packDir, objects);
  await writeFile(join(repo.dir, 'shallow'), `${tip}\n`);
  for (const f of await readdir(packDir)) {
    if (!f.startsWith(`${name}.`)) await rm(join(packDir, f), { force: true });
  }
  for (const d of await readdir(join(repo.dir, 'objects'))) {
    if (/^[0-9a-f]{2}$/.test(d)) await rm(join(repo.dir, 'objects', d), { recursive: true, force: true });
  }
  await store.resetCache();
  store.forgetRecent(store.mark());
  store.packedBytes = 0;
  return { objects: objects.length, bytes };
}

/** Compacts under the lock, logging the outcome; a failure is logged and left for the next push. */
export async function compactLogged(repo: Repo, lock: RepoLock, logger: Logger): Promise<void> {
  try {
    const started = Date.now();
    const done = await lock.run(() => compactStore(repo));
    if (done) logger.info({ event: 'git.compacted', ...done, ms: Date.now() - started }, 'compacted the local object store');
  } catch (err) {
    logger.warn({ event: 'git.compact-failed', err }, 'could not compact the local object store');
  }
}
