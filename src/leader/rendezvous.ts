// Which replica should write each destination: rendezvous (highest random weight) hashing of the
// destination over the live replicas' identities, bounded so that nobody gets more than
// ceil(D/R) — plain rendezvous hashing is balanced only on average (6 destinations over 3
// replicas came out 1/2/3, and the replica with 3 bounds the whole). Every replica computes the same
// assignment from the same destinations and members, with no coordination, so nothing flaps; a
// membership change moves the departed replica's destinations, and a few more to keep the bound.
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
 * Every destination's writer among `members`: destinations in a fixed order each take their
 * highest-weight member that holds fewer than ceil(D/R) so far.
 */
export function assign(destinations: readonly string[], members: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (members.length === 0) return out;
  const cap = Math.ceil(destinations.length / members.length);
  const load = new Map<string, number>();
  for (const d of [...new Set(destinations)].sort()) {
    const ranked = [...members].sort((a, b) => { const wa = weight(a, d); const wb = weight(b, d); return wa === wb ? (a < b ? -1 : 1) : (wb > wa ? 1 : -1); });
    const id = ranked.find((m) => (load.get(m) ?? 0) < cap) ?? ranked[0]!;
    load.set(id, (load.get(id) ?? 0) + 1);
    out.set(d, id);
  }
  return out;
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
