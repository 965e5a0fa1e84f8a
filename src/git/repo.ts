// The state one writer keeps about its repository, shared by the operations (open, commit,
// push, replay), plus the small history walks they need. Only ever touched inside the lock.
import type { Logger } from 'pino';
import { decodeCommit, type CommitObject } from './object-format.ts';
import type { ObjectStore } from './object-store.ts';
import type { TreeIndex } from './tree-index.ts';
import { basicAuth } from './transport.ts';
import type { CommitSigning, Credentials } from './types.ts';

export interface Repo {
  dir: string;
  url: string;
  branch: string;
  store: ObjectStore;
  tree: TreeIndex;
  /** Local branch tip (undefined until the first commit of an empty branch). */
  tip: string | undefined;
  /** Last known tip of the remote branch (undefined: the remote has no such branch). */
  remoteTip: string | undefined;
  /** Local commits the remote does not have yet, oldest first. */
  unpushed: string[];
  /**
   * Unpushed commit → the objects it introduced (itself, its new trees, its changed blobs), for
   * the commits written by this process. A push sends these instead of diffing whole trees to
   * find them again; commits without an entry (found again after a restart) are diffed.
   */
  introduced: Map<string, string[]>;
  /**
   * The trees of the last round that landed, and the commit it landed: while the remote is at that
   * commit, a push may send a folder's next version as a delta of them (a thin pack).
   */
  landedTrees?: { tip: string; trees: ReadonlySet<string> };
  /** The remote advertised `no-thin`: packs go whole. */
  noThin?: boolean;
  committer: { name: string; email: string };
  /** Read at each commit: sign with this key, refuse to commit (key missing), or leave unsigned. */
  signing: () => CommitSigning;
  credentials: () => Credentials | undefined;
  logger: Logger;
}

export async function readCommit(store: ObjectStore, oid: string): Promise<CommitObject | undefined> {
  const o = await store.tryRead(oid);
  if (!o || o.type !== 'commit') return undefined;
  return decodeCommit(o.body);
}

/** Commits from tip back along first parents, stopping before `base` or where history ends; oldest first. */
export async function commitsSince(store: ObjectStore, tip: string | undefined, base: string | undefined, limit = 1_000_000): Promise<string[]> {
  const out: string[] = [];
  let oid = tip;
  while (oid && oid !== base && out.length < limit) {
    const c = await readCommit(store, oid);
    if (!c) break; // beyond a shallow boundary
    out.push(oid);
    oid = c.parents[0];
  }
  return out.reverse();
}

/** Basic auth header from the credentials of the moment (never logged); none over SSH. */
export function authHeaders(repo: Repo): Record<string, string> {
  return basicAuth(repo.credentials());
}
