// Which replica should write a destination: rendezvous (highest random weight) hashing of the
// destination over the live replicas' identities. Every replica computes the same answer from the
// same membership, with no coordination; when a replica joins or leaves, only the destinations it
// wins or held move (about 1/R of them), so a membership change never reshuffles the rest.
import { createHash } from 'node:crypto';

const weight = (identity: string, destination: string): bigint =>
  createHash('sha256').update(identity).update('\u0000').update(destination).digest().readBigUInt64BE(0);

/** The identity that should write `destination` among `members` (undefined when there are none). */
export function preferredHolder(destination: string, members: Iterable<string>): string | undefined {
  let best: { id: string; w: bigint } | undefined;
  for (const id of members) {
    const w = weight(id, destination);
    if (!best || w > best.w || (w === best.w && id < best.id)) best = { id, w };
  }
  return best?.id;
}

/**
 * The Lease of one destination: `<base>-d-<12 hex of sha256(destination)>`, stable and a valid
 * Kubernetes name (≤ 63 characters with a base of up to 48) whatever the repository URL or branch.
 */
export function destinationLeaseName(base: string, destination: string): string {
  return `${base.slice(0, 48)}-d-${createHash('sha256').update(destination).digest('hex').slice(0, 12)}`;
}

/** The Lease by which a replica says it is alive: `<base>-m-<12 hex of sha256(identity)>`. */
export function memberLeaseName(base: string, identity: string): string {
  return `${base.slice(0, 48)}-m-${createHash('sha256').update(identity).digest('hex').slice(0, 12)}`;
}
