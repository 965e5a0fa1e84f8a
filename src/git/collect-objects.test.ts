import { describe, expect, it } from 'vitest';
import { collectObjects } from './collect-objects.ts';
import { commitChanges } from './commit-changes.ts';
import { ObjectStore } from './object-store.ts';
import type { Repo } from './repo.ts';
import { silentLogger } from './testing/git-remote.ts';
import { TreeIndex } from './tree-index.ts';
import type { FileChange } from './types.ts';
import { freshBareRepoPerTest } from './testing/bare-repo.ts';

describe('collectObjects', () => {
  let dir: string;
  freshBareRepoPerTest('collect-objects-', (d) => { dir = d; });

  async function openRepo(): Promise<Repo> {
    const store = await ObjectStore.open(dir, 'main');
    return {
      dir, url: 'http://127.0.0.1:1/none.git', branch: 'main', store,
      tree: await TreeIndex.load(store, undefined), tip: undefined, remoteTip: undefined, unpushed: [], introduced: new Map(),
      committer: { name: 'kubescribe', email: 'k@example.com' }, signing: () => undefined, credentials: () => undefined, logger: silentLogger,
    };
  }

  const commit = (repo: Repo, changes: FileChange[], k: number): Promise<string> =>
    commitChanges(repo, { changes, author: { name: 'alice', email: 'a@example.com', timestamp: 1_700_000_000 + k }, message: `change ${k}\n` }, 1_700_000_000_000 + k * 1000);

  /** Creates, updates, deletes, a file going back to an earlier content, a folder emptied and refilled, a big flat folder. */
  async function history(repo: Repo): Promise<void> {
    let k = 0;
    const seed: FileChange[] = [];
    for (let i = 0; i < 300; i++) seed.push({ path: `ns/core/configmaps/cm-${i}.yaml`, content: `v: 0\ni: ${i}\n` });
    seed.push({ path: 'other/core/secrets/s.yaml', content: 's: 1\n' }, { path: 'other/apps/deployments/d.yaml', content: 'd: 1\n' });
    await commit(repo, seed, k++);
    for (let i = 0; i < 40; i++) await commit(repo, [{ path: `ns/core/configmaps/cm-${(i * 37) % 300}.yaml`, content: `v: ${i}\ni: ${i}\n` }], k++);
    await commit(repo, [{ path: 'ns/core/configmaps/cm-0.yaml', content: 'v: 0\ni: 0\n' }], k++); // back to the seed's blob
    await commit(repo, [{ path: 'other/core/secrets/s.yaml', content: null }], k++); // empties a folder
    await commit(repo, [{ path: 'other/core/secrets/s.yaml', content: 's: 1\n' }], k++); // and brings the same tree back
    await commit(repo, [{ path: 'ns/core/configmaps/new.yaml', content: 'new\n' }, { path: 'ns/core/configmaps/cm-5.yaml', content: null }], k++);
    await commit(repo, [{ path: 'ns/core/configmaps-x/a.yaml', content: 'sorts after the folder configmaps/\n' }], k++);
  }

  it('returns for the commits it wrote what diffing their trees finds, from any first commit on', async () => {
    const repo = await openRepo();
    await history(repo);
    for (const from of [0, 1, 20, repo.unpushed.length - 3]) {
      const commits = repo.unpushed.slice(from);
      const known = await collectObjects(repo.store, commits, repo.introduced);
      const walked = await collectObjects(repo.store, commits);
      // At least what a diff finds; beyond it only objects the remote holds already (reachable
      // from the parent of the first commit), such as a folder deleted and brought back.
      const remoteHas = new Set(await collectObjects(repo.store, repo.unpushed.slice(0, from)));
      const walkedSet = new Set(walked);
      for (const o of walked) expect(known).toContain(o);
      expect(known.filter((o) => !walkedSet.has(o) && !remoteHas.has(o))).toEqual([]);
      expect(known.length).toBe(new Set(known).size);
    }
    await repo.store.close();
  });

  it('finds every object again by diffing after a restart, for commits flushed to a pack and commits in the journal', async () => {
    const repo = await openRepo();
    await history(repo);
    const before = await collectObjects(repo.store, repo.unpushed, repo.introduced);
    await repo.store.flush(); // part of the history in a pack ...
    const more: string[] = [];
    for (let i = 0; i < 5; i++) { await commit(repo, [{ path: `ns/core/configmaps/cm-${i}.yaml`, content: `after flush ${i}\n` }], 100 + i); }
    more.push(...await collectObjects(repo.store, repo.unpushed.slice(-5), repo.introduced));
    const commits = [...repo.unpushed];
    // ... the rest only in the journal: a crash loses the in-memory bookkeeping.
    const again = await ObjectStore.open(dir, 'main');
    expect(again.getTip()).toBe(repo.tip);
    const found = await collectObjects(again, commits, new Map());
    expect(new Set(found)).toEqual(new Set([...before, ...more]));
    for (const oid of found) await expect(again.read(oid)).resolves.toBeDefined();
    await again.close();
  });
});
