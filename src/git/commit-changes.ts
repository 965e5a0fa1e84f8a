// One change, one commit, written directly as objects: blobs for the changed files, the folders
// on their paths, the commit, then the tip in the journal. No work tree, no index. All of it is
// hashing and one journal write (see object-store.ts); the only wait is a commit signature.
// A signing key that is missing is found before anything is touched.
import { hashObject } from './blob-oid.ts';
import { formatIdent } from './object-format.ts';
import { assertSafeRepoPath } from './paths.ts';
import { assertCanSign, encodeSignedCommit } from './sign-commit.ts';
import type { Repo } from './repo.ts';
import type { BlobChange } from './tree-index.ts';
import type { CommitInput } from './types.ts';

/** Returns the new commit, or the current tip when the changes leave the tree as it is. */
export async function commitChanges(repo: Repo, input: CommitInput, now = Date.now()): Promise<string> {
  const signing = repo.signing();
  assertCanSign(signing);
  const blobs = new Map<string, Buffer>();
  const changes: BlobChange[] = [];
  for (const c of input.changes) {
    assertSafeRepoPath(c.path);
    if (c.content === null) {
      changes.push({ path: c.path, oid: null });
    } else {
      const body = Buffer.from(c.content, 'utf8');
      const oid = hashObject('blob', body);
      blobs.set(oid, body);
      changes.push({ path: c.path, oid });
    }
  }
  const effective = repo.tree.apply(changes);
  if (effective.length === 0 && repo.tip !== undefined) return repo.tip;
  const introduced: string[] = [];
  for (const c of effective) if (c.oid !== null) introduced.push(repo.store.write('blob', blobs.get(c.oid)!, c.oid));
  const tree = repo.tree.write(repo.store, introduced);
  const seconds = Math.floor(now / 1000);
  const oid = repo.store.write('commit', await encodeSignedCommit(signing, {
    tree,
    parents: repo.tip ? [repo.tip] : [],
    author: formatIdent(input.author, input.author.timestamp ?? seconds),
    committer: formatIdent(repo.committer, seconds),
    message: input.message,
  }));
  repo.store.setTip(oid);
  repo.tip = oid;
  repo.unpushed.push(oid);
  introduced.push(oid);
  repo.introduced.set(oid, introduced);
  return oid;
}
