// A commit object as the configured signing wants it: unsigned when signing is off, signed by the
// committer's key, or refused (KUBESCRIBE_ERR_GIT_SIGNING_KEY) when signing is on but the key is
// missing or unusable — a change then waits in the queue; it is never written unsigned.
import { KubescribeError } from '../errors.ts';
import { encodeCommit, type CommitObject } from './object-format.ts';
import type { CommitSigning } from './types.ts';

/** Throws before anything is written when signing is asked for and no key is usable. */
export function assertCanSign(signing: CommitSigning): void {
  if (signing && 'problem' in signing) throw new KubescribeError('KUBESCRIBE_ERR_GIT_SIGNING_KEY', `commit signing is on but ${signing.problem}; nothing is committed until the key is fixed`);
}

export async function encodeSignedCommit(signing: CommitSigning, c: CommitObject): Promise<Buffer> {
  assertCanSign(signing);
  const plain = encodeCommit(c);
  if (!signing || !('signer' in signing)) return plain;
  return encodeCommit(c, await signing.signer.sign(plain));
}
