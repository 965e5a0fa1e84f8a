// Read-only access to the audit history, shaped for walking thousands of commits cheaply.
// Commits are walked once, newest first. Looking a path up is memoised by the tree oid it
// starts from: when a folder's oid did not change between two commits, nothing below it is read
// again, so following one object through history reads only the root tree of each commit and
// the folders above a changed file, and never a blob of an unrelated commit.

import { readBlob, readCommit, readTree, type PromiseFsClient } from 'isomorphic-git';
import { readOnlyFs } from './read-only-fs.ts';

export interface CommitInfo {
  readonly oid: string;
  readonly tree: string;
  readonly parents: readonly string[];
  readonly message: string;
  readonly author: { readonly name: string; readonly email: string; readonly timestamp: number };
  /** Seconds since the epoch: the walk's order. */
  readonly committedAt: number;
}

export interface WalkStep {
  readonly commit: CommitInfo;
  /** The parents that can be read (a shallow clone may lack some): compare against these. */
  readonly parents: readonly CommitInfo[];
}

export interface TreeEntryInfo {
  readonly oid: string;
  readonly type: 'blob' | 'tree' | 'commit';
}

export interface FileChange {
  /** Relative to the trees compared. */
  readonly path: string;
  /** Blob oids; undefined where the file does not exist. */
  readonly before: string | undefined;
  readonly after: string | undefined;
}

const TREE_CACHE_SIZE = 64;

export class RepoReader {
  readonly gitdir: string;
  /** isomorphic-git's own cache (pack indexes), shared by every read of this reader. */
  private readonly gitCache = {};
  private readonly fs: PromiseFsClient = readOnlyFs();
  private readonly trees = new Map<string, ReadonlyMap<string, TreeEntryInfo>>();
  private readonly lookups = new Map<string, TreeEntryInfo | undefined>();
  /** Objects read so far: how tests check that a walk stays away from unrelated objects. */
  readonly reads = { commits: 0, trees: 0, blobs: 0 };

  constructor(gitdir: string) {
    this.gitdir = gitdir;
  }

  async readCommit(oid: string): Promise<CommitInfo | undefined> {
    try {
      this.reads.commits++;
      const { commit } = await readCommit({ fs: this.fs, gitdir: this.gitdir, oid, cache: this.gitCache });
      return {
        oid,
        tree: commit.tree,
        parents: commit.parent,
        message: commit.message,
        author: { name: commit.author.name, email: commit.author.email, timestamp: commit.author.timestamp },
        committedAt: commit.committer.timestamp,
      };
    } catch (err) {
      if ((err as { code?: unknown }).code === 'NotFoundError') return undefined;
      throw err;
    }
  }

  /**
   * Every commit reachable from `tip`, newest committed first, each once. With `stopBefore`
   * (seconds), stops at the first commit committed earlier: everything after it is older still.
   */
  async *walk(tip: string, options: { stopBefore?: number | undefined } = {}): AsyncGenerator<WalkStep> {
    const first = await this.readCommit(tip);
    if (!first) return;
    const queue: CommitInfo[] = [first]; // sorted oldest → newest; pop() takes the newest
    const seen = new Set([tip]);
    for (let commit = queue.pop(); commit; commit = queue.pop()) {
      if (options.stopBefore !== undefined && commit.committedAt < options.stopBefore) return;
      const parents: CommitInfo[] = [];
      for (const oid of commit.parents) {
        const parent = await this.readCommit(oid);
        if (!parent) continue;
        parents.push(parent);
        if (seen.has(oid)) continue;
        seen.add(oid);
        const at = queue.findIndex((c) => c.committedAt > parent.committedAt);
        queue.splice(at === -1 ? queue.length : at, 0, parent);
      }
      yield { commit, parents };
    }
  }

  /** The entry at `segments` below a tree; `[]` gives the tree itself. */
  async entryAt(treeOid: string, segments: readonly string[], from = 0): Promise<TreeEntryInfo | undefined> {
    if (from >= segments.length) return { oid: treeOid, type: 'tree' };
    const key = `${treeOid}:${segments.slice(from).join('/')}`;
    if (this.lookups.has(key)) return this.lookups.get(key);
    const entry = (await this.listTree(treeOid)).get(segments[from] ?? '');
    let found: TreeEntryInfo | undefined;
    if (entry === undefined) found = undefined;
    else if (from === segments.length - 1) found = entry;
    else if (entry.type === 'tree') found = await this.entryAt(entry.oid, segments, from + 1);
    this.lookups.set(key, found);
    return found;
  }

  /** The blob oid at `segments` below a tree, or undefined. */
  async blobAt(treeOid: string, segments: readonly string[]): Promise<string | undefined> {
    const entry = await this.entryAt(treeOid, segments);
    return entry?.type === 'blob' ? entry.oid : undefined;
  }

  /** The subtree at `segments` below a tree, or undefined. */
  async treeAt(treeOid: string, segments: readonly string[]): Promise<string | undefined> {
    const entry = await this.entryAt(treeOid, segments);
    return entry?.type === 'tree' ? entry.oid : undefined;
  }

  async listTree(treeOid: string): Promise<ReadonlyMap<string, TreeEntryInfo>> {
    const hit = this.trees.get(treeOid);
    if (hit) {
      this.trees.delete(treeOid);
      this.trees.set(treeOid, hit);
      return hit;
    }
    this.reads.trees++;
    const { tree } = await readTree({ fs: this.fs, gitdir: this.gitdir, oid: treeOid, cache: this.gitCache });
    const entries = new Map<string, TreeEntryInfo>(tree.map((e) => [e.path, { oid: e.oid, type: e.type }]));
    this.trees.set(treeOid, entries);
    if (this.trees.size > TREE_CACHE_SIZE) this.trees.delete(this.trees.keys().next().value ?? '');
    return entries;
  }

  async readText(blobOid: string): Promise<string> {
    this.reads.blobs++;
    const { blob } = await readBlob({ fs: this.fs, gitdir: this.gitdir, oid: blobOid, cache: this.gitCache });
    return Buffer.from(blob).toString('utf8');
  }

  /** The files that differ between two trees, recursing only into folders whose oids differ. */
  async diffTrees(before: string | undefined, after: string | undefined, prefix = ''): Promise<FileChange[]> {
    if (before === after) return [];
    const empty: ReadonlyMap<string, TreeEntryInfo> = new Map();
    const [a, b] = await Promise.all([before ? this.listTree(before) : empty, after ? this.listTree(after) : empty]);
    const changes: FileChange[] = [];
    for (const name of [...new Set([...a.keys(), ...b.keys()])].sort()) {
      const x = a.get(name);
      const y = b.get(name);
      if (x?.oid === y?.oid && x?.type === y?.type) continue;
      const path = prefix === '' ? name : `${prefix}/${name}`;
      const xTree = x?.type === 'tree' ? x.oid : undefined;
      const yTree = y?.type === 'tree' ? y.oid : undefined;
      if (xTree !== undefined || yTree !== undefined) changes.push(...(await this.diffTrees(xTree, yTree, path)));
      const xBlob = x?.type === 'blob' ? x.oid : undefined;
      const yBlob = y?.type === 'blob' ? y.oid : undefined;
      if (xBlob !== yBlob) changes.push({ path, before: xBlob, after: yBlob });
    }
    return changes;
  }
}
