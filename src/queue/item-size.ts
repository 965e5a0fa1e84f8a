// What a queued item weighs, for the queue's byte bound (queue.maxPendingBytes): the canonical JSON
// length of its sanitized objects. It is noted when an object is prepared, for free (the content
// hash serializes it anyway); an object never prepared (a test's, a deletion's last state built
// elsewhere) is measured once. A JavaScript object holds about 2–4× its JSON in the heap.
import type { QueueItem } from '../change.ts';

const noted = new WeakMap<object, number>();
/** The bookkeeping of one item beside its objects (the change record, its author, the target). */
const ITEM_OVERHEAD = 256;

export function noteBytes(obj: object, bytes: number): void {
  noted.set(obj, bytes);
}

export function objectBytes(obj: object): number {
  return noted.get(obj) ?? JSON.stringify(obj).length;
}

export function itemBytes(item: QueueItem): number {
  if (item.kind === 'change') return ITEM_OVERHEAD + objectBytes(item.object);
  let n = ITEM_OVERHEAD;
  for (const o of item.objects) n += objectBytes(o);
  return n;
}
