// The store's keys in the order they last changed, each with a sequence number, so that a peer can
// ask for "what changed after <seq>" and get only that, oldest change first, in bounded chunks:
// a pull then costs the work of what changed since the puller's cursor, not a serialization of the
// whole store on the webhook's event loop (bench/replica-admission.ts). A key leaves the log when
// it leaves the store. The epoch is new in every process, so a cursor from a restarted peer is
// recognized as foreign (and the pull starts over) instead of silently skipping entries.
import { randomBytes } from 'node:crypto';

interface Node { key: string; seq: number; older: Node | undefined; newer: Node | undefined }

export interface ChangesChunk<V> {
  epoch: string;
  /** The cursor to ask from next time: everything up to it has been handed out. */
  next: number;
  /** Whether changes after `next` remain (ask again at once). */
  more: boolean;
  entries: Array<[string, V]>;
}

export class ChangeLog {
  readonly epoch = randomBytes(8).toString('hex');
  private seq = 0;
  private readonly nodes = new Map<string, Node>();
  private oldest: Node | undefined;
  private newest: Node | undefined;

  /** The sequence number of the latest change. */
  get current(): number {
    return this.seq;
  }

  get size(): number {
    return this.nodes.size;
  }

  /** The key changed now: it moves to the newest end with a new sequence number. */
  changed(key: string): void {
    let node = this.nodes.get(key);
    if (node) this.unlink(node);
    else {
      node = { key, seq: 0, older: undefined, newer: undefined };
      this.nodes.set(key, node);
    }
    node.seq = ++this.seq;
    node.older = this.newest;
    if (this.newest) this.newest.newer = node;
    else this.oldest = node;
    this.newest = node;
  }

  removed(key: string): void {
    const node = this.nodes.get(key);
    if (!node) return;
    this.unlink(node);
    this.nodes.delete(key);
  }

  /**
   * At most `limit` keys changed after `after` (from the start when `epoch` is not ours), oldest
   * change first, with their values from `read` (undefined: skipped, e.g. expired). The walk back
   * from the newest end costs the number of changes since `after`, not the size of the log.
   */
  since<V>(epoch: string | undefined, after: number, limit: number, read: (key: string) => V | undefined): ChangesChunk<V> {
    const from = epoch === this.epoch ? after : 0;
    let first = this.newest;
    while (first?.older !== undefined && first.older.seq > from) first = first.older;
    if (first !== undefined && first.seq <= from) first = undefined;
    const entries: Array<[string, V]> = [];
    let node = first;
    let next = this.seq;
    for (; node !== undefined && entries.length < limit; node = node.newer) {
      const v = read(node.key);
      if (v !== undefined) entries.push([node.key, v]);
      next = node.seq;
    }
    if (node === undefined) next = this.seq;
    return { epoch: this.epoch, next, more: node !== undefined, entries };
  }

  private unlink(node: Node): void {
    if (node.older) node.older.newer = node.newer;
    else if (this.oldest === node) this.oldest = node.newer;
    if (node.newer) node.newer.older = node.older;
    else if (this.newest === node) this.newest = node.older;
    node.older = undefined;
    node.newer = undefined;
  }
}
