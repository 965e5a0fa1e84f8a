// How far each (base folder, resource type) of a branch is recorded: the resourceVersion of the
// last change or reconcile committed for it, kept in the branch itself (so it is exactly as durable
// as the commits, and travels with replays and failovers) — one file per cluster:
// `.kubescribe/checkpoints.json`, or `.kubescribe/checkpoints/<cluster>.json` when a cluster name is
// set, so that kubescribes of several clusters writing to one branch never overwrite each other's
// (a replay re-applies a commit's files whole). The file also names the cluster that wrote it (the
// uid of its kube-system namespace): a checkpoint from another cluster, or one ahead of the cluster's
// current resourceVersion, is rejected by the controller and answered by a reconcile, never trusted.
// A new leader or a restarted replica lists each type AT its checkpoint and watches from there, so
// changes made while nobody recorded are replayed one by one (with their authors, whose
// correlations every replica kept) instead of being folded into a reconcile; anything at or below
// a checkpoint is not committed again.
import type { FileChange } from './types.ts';

export const CHECKPOINT_PATH = '.kubescribe/checkpoints.json';

/** The checkpoint file of a cluster ('' = unnamed: the single-cluster path). */
export function checkpointPath(cluster: string): string {
  return cluster === '' ? CHECKPOINT_PATH : `.kubescribe/checkpoints/${cluster}.json`;
}

/** Which cluster wrote a checkpoint file: its name and the uid of its kube-system namespace. */
export interface ClusterIdentity {
  name: string;
  uid: string;
}

import { compareRv } from '../kube-object.ts';

export { compareRv };

export class Checkpoints {
  private readonly map = new Map<string, string>();
  /** The cluster named in the file as read ('' uid: a file from before identities, or none). */
  written: ClusterIdentity | undefined;

  /** `self`: this cluster's identity, written into the file with every commit. */
  private constructor(readonly path: string, private readonly self: () => ClusterIdentity | undefined) {}

  static async load(read: (path: string) => Promise<string | undefined>, path = CHECKPOINT_PATH, self: () => ClusterIdentity | undefined = () => undefined): Promise<Checkpoints> {
    const c = new Checkpoints(path, self);
    const text = await read(path).catch(() => undefined);
    if (text) {
      try {
        const json = JSON.parse(text) as Record<string, unknown>;
        // Before cluster identities the file was the flat map itself.
        const versions = typeof json.resourceVersions === 'object' && json.resourceVersions !== null ? json.resourceVersions as Record<string, unknown> : json;
        for (const [k, v] of Object.entries(versions)) if (typeof v === 'string') c.map.set(k, v);
        const cluster = json.cluster as Partial<ClusterIdentity> | undefined;
        if (typeof cluster?.uid === 'string') c.written = { name: String(cluster.name ?? ''), uid: cluster.uid };
      } catch { /* unreadable: start without checkpoints (a reconcile then catches up) */ }
    }
    return c;
  }

  static key(baseFolder: string, typeKey: string): string {
    return `${baseFolder}|${typeKey}`;
  }

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  /** Every (key, resourceVersion) held. */
  entries(): Array<[string, string]> {
    return [...this.map.entries()];
  }

  /** True when `rv` is at or below the checkpoint: already in the branch. */
  covers(key: string, rv: string): boolean {
    const cp = this.map.get(key);
    return cp !== undefined && (compareRv(rv, cp) ?? 1) <= 0;
  }

  /** Forgets a checkpoint that cannot be trusted (another cluster's, or ahead of the cluster). */
  reject(key: string): void {
    this.map.delete(key);
  }

  /** The map with `key` moved forward to `rv` (never backwards). */
  advanced(key: string, rv: string): Map<string, string> {
    const next = new Map(this.map);
    const cp = next.get(key);
    if (rv && (cp === undefined || (compareRv(rv, cp) ?? 1) > 0)) next.set(key, rv);
    return next;
  }

  set(next: Map<string, string>): void {
    this.map.clear();
    for (const [k, v] of next) this.map.set(k, v);
    this.written = this.self() ?? this.written;
  }

  /** The checkpoint file holding `map`, naming this cluster. */
  file(map: Map<string, string>): FileChange {
    const resourceVersions = Object.fromEntries([...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const cluster = this.self() ?? this.written;
    return { path: this.path, content: `${JSON.stringify(cluster ? { cluster, resourceVersions } : { resourceVersions }, null, 2)}\n` };
  }
}

/** Why a checkpoint cannot be replayed from in this cluster, if it cannot. */
export function untrusted(checkpoints: Pick<Checkpoints, 'written'>, rv: string, cluster: { uid?: string; resourceVersion?: string }): { reason: string; message: string } | undefined {
  const writer = checkpoints.written;
  if (writer && cluster.uid && writer.uid !== cluster.uid) {
    return { reason: 'CheckpointFromOtherCluster', message: `the checkpoint ${rv} was written by another cluster (kube-system uid ${writer.uid}${writer.name ? `, name ${writer.name}` : ''}, this cluster's is ${cluster.uid})` };
  }
  if (cluster.resourceVersion && (compareRv(rv, cluster.resourceVersion) ?? 0) > 0) {
    return { reason: 'CheckpointAhead', message: `the checkpoint ${rv} is newer than the cluster's current resourceVersion ${cluster.resourceVersion} (etcd restored or replaced?)` };
  }
  return undefined;
}
