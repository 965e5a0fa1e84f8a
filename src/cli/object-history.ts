// The changes of one object, newest first: the commits where the blob at the object's path
// differs from its parent's (for a merge: from every parent, as git log does). One walk serves
// `history` (with filters) and `blame` (back to the object's latest creation). Who made a change
// and how come from the commit's trailers; when those are missing, from the author and from
// what happened to the file.

import { parseCommitMessage, type CommitMeta } from './commit-message.ts';
import type { CommitInfo, RepoReader } from './repo-reader.ts';

export type FileEffect = 'added' | 'modified' | 'deleted';

export interface RecordedChange {
  readonly commit: CommitInfo;
  readonly meta: CommitMeta;
  /** Kubescribe-User, else the commit author, else `unknown`. */
  readonly user: string;
  /** Kubescribe-Operation, else CREATE / UPDATE / DELETE from what happened to the file. */
  readonly operation: string;
  readonly effect: FileEffect;
}

export interface ObjectChange extends RecordedChange {
  /** Blob oids at the object's path before and after the commit. */
  readonly before: string | undefined;
  readonly after: string | undefined;
}

const OPERATION_OF: Record<FileEffect, string> = { added: 'CREATE', modified: 'UPDATE', deleted: 'DELETE' };

/**
 * Who made a commit's change: the Kubescribe-User trailer, else the author, else `unknown`; an
 * `unknown` with candidates names them (`unknown (alice|bob)`).
 */
export function changeUser(commit: CommitInfo, meta: CommitMeta): string {
  const user = meta.user ?? (commit.author.name || 'unknown');
  return user === 'unknown' && meta.candidates.length > 1 ? `unknown (${meta.candidates.join('|')})` : user;
}

/** The user as shown: `<controller> (caused by bob)` for a controller's deletion on someone's behalf. */
export function shownUser(change: RecordedChange): string {
  return change.meta.causes.length > 0 ? `${change.user} (caused by ${change.meta.causes.join(', ')})` : change.user;
}

/** Whether a change is the user's: made by them, or a controller's deletion they caused. */
export function involves(change: RecordedChange, user: string): boolean {
  return change.user === user || change.meta.causes.includes(user);
}

export function describeChange(commit: CommitInfo, effect: FileEffect, meta: CommitMeta = parseCommitMessage(commit.message)): RecordedChange {
  return { commit, meta, effect, user: changeUser(commit, meta), operation: meta.operation ?? OPERATION_OF[effect] };
}

export interface ObjectChangesOptions {
  /** Seconds: stop walking at commits committed before this. */
  readonly stopBefore?: number | undefined;
}

export async function* objectChanges(reader: RepoReader, tip: string, segments: readonly string[], options: ObjectChangesOptions = {}): AsyncGenerator<ObjectChange> {
  for await (const { commit, parents } of reader.walk(tip, options)) {
    const after = await reader.blobAt(commit.tree, segments);
    const befores = await Promise.all(parents.map((p) => reader.blobAt(p.tree, segments)));
    const unchanged = befores.length === 0 ? after === undefined : befores.some((b) => b === after);
    if (unchanged) continue;
    const before = befores[0];
    const effect: FileEffect = before === undefined ? 'added' : after === undefined ? 'deleted' : 'modified';
    yield { ...describeChange(commit, effect), before, after };
  }
}
