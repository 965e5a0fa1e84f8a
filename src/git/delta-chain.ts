// Reading an object the store keeps as a delta: follow its chain of bases back to a whole body
// (in memory, in the small cache of bodies applied lately, or in a pack), then apply the deltas
// forward, caching each body on the way. A loop, not a recursion: a chain longer than the store
// ever writes, or one that comes back to an object it passed (issue 18), is reported as a damaged
// store (KUBESCRIBE_ERR_GIT_STORE_CORRUPT) instead of overflowing the stack.
import { KubescribeError } from '../errors.ts';
import { applyDelta } from './delta.ts';

/** Deltas chain at most this deep when written (as git's own packs). */
export const MAX_DEPTH = 50;
/** Longer chains than this are read as damage: more than any writer of ours makes. */
const MAX_CHAIN = 4 * MAX_DEPTH;
/** Bodies applied lately: the next version of a folder is a delta of the last one. */
const CACHED_BODIES = 8;

export type ChainEntry = { body: Uint8Array } | { base: string; delta: Uint8Array };

export class DeltaChains {
  private readonly bodies = new Map<string, Uint8Array>();

  constructor(
    private readonly dir: string,
    /** Our own objects (pending or recently written): whole or as a delta. */
    private readonly own: (oid: string) => ChainEntry | undefined,
    /** An object from a pack on disk (already whole). */
    private readonly packed: (oid: string) => Uint8Array | undefined,
  ) {}

  body(oid: string): Uint8Array {
    const deltas: Array<{ oid: string; delta: Uint8Array }> = [];
    const seen = new Set<string>();
    let at = oid;
    let body: Uint8Array | undefined;
    for (;;) {
      const e = this.own(at);
      if (e && 'body' in e) { body = e.body; break; }
      const hit = this.bodies.get(at);
      if (hit) { body = hit; break; }
      if (!e) {
        body = this.packed(at);
        if (!body) throw new KubescribeError('KUBESCRIBE_ERR_GIT_STORE_CORRUPT', `git object ${at} is missing from ${this.dir}${at === oid ? '' : ` (the delta base of ${oid})`}`);
        break;
      }
      seen.add(at);
      deltas.push({ oid: at, delta: e.delta });
      if (seen.has(e.base) || deltas.length > MAX_CHAIN) {
        throw new KubescribeError('KUBESCRIBE_ERR_GIT_STORE_CORRUPT', `the delta chain of git object ${oid} in ${this.dir} ${seen.has(e.base) ? `comes back to ${e.base} (a cycle)` : `is longer than ${MAX_CHAIN}`}`);
      }
      at = e.base;
    }
    for (let i = deltas.length - 1; i >= 0; i--) {
      body = applyDelta(body, deltas[i]!.delta);
      this.remember(deltas[i]!.oid, body);
    }
    return body;
  }

  /** Keeps a body just applied, for the next delta against it. */
  remember(oid: string, body: Uint8Array): void {
    if (this.bodies.size >= CACHED_BODIES) this.bodies.delete(this.bodies.keys().next().value!);
    this.bodies.set(oid, body);
  }

  /** Whether this very buffer is cached as the body of oid. */
  holds(oid: string, body: Uint8Array): boolean {
    return this.bodies.get(oid) === body;
  }
}
