// A bounded FIFO with back-pressure: `push` waits while the queue is full, so the watch stops
// reading instead of dropping anything; nothing is ever silently dropped. One queue per Git
// writer, so changes are in order per object (and across objects of that branch). Full means
// `capacity` items or, when a size is given, `maxBytes` of them: a burst of large objects is held
// back by what it weighs, not only by how many. An item heavier than `maxBytes` alone is let in
// when the queue is empty (otherwise it could never pass).
import { KubescribeError } from '../errors.ts';

export interface QueueBytes<T> {
  maxBytes: number;
  /** What an item weighs; read once, when it is pushed. */
  sizeOf: (item: T) => number;
}

export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private readonly sizes: number[] = [];
  private head = 0;
  private weight = 0;
  /** Pushers waiting for room, in order; an item is let in by the one that makes room. */
  private readonly waitingPushers: Array<{ item: T; size: number; done: (err?: Error) => void }> = [];
  private waitingConsumer: ((v: void) => void) | undefined;
  private closed = false;

  constructor(
    private readonly capacity: number,
    private readonly onDepth?: (depth: number, bytes: number) => void,
    private readonly byteBound?: QueueBytes<T>,
  ) {}

  /** The bytes of the items waiting (0 without a size). */
  get bytes(): number {
    return this.weight;
  }

  /** Whether an item of `size` bytes would have to wait now. */
  full(size = 0): boolean {
    if (this.depth >= this.capacity) return true;
    return this.byteBound !== undefined && this.depth > 0 && this.weight + size > this.byteBound.maxBytes;
  }

  get depth(): number {
    return this.items.length - this.head;
  }

  async push(item: T): Promise<void> {
    if (this.closed) throw closedError();
    const size = this.byteBound?.sizeOf(item) ?? 0;
    if (this.waitingPushers.length > 0 || this.full(size)) {
      // In line behind earlier pushers: a large item is not overtaken by smaller ones after it.
      await new Promise<void>((resolve, reject) => this.waitingPushers.push({ item, size, done: (err) => (err ? reject(err) : resolve()) }));
      return;
    }
    this.add(item, size);
  }

  private add(item: T, size: number): void {
    this.items.push(item);
    this.sizes.push(size);
    this.weight += size;
    this.onDepth?.(this.depth, this.weight);
    const c = this.waitingConsumer;
    this.waitingConsumer = undefined;
    c?.();
  }

  /** Lets waiting pushers in, in order, while there is room for the next one. */
  private admit(): void {
    while (this.waitingPushers.length > 0 && !this.full(this.waitingPushers[0]!.size)) {
      const w = this.waitingPushers.shift()!;
      this.add(w.item, w.size);
      w.done();
    }
  }

  /** Items in order; ends after close() once drained. */
  async *drain(): AsyncGenerator<T> {
    for (;;) {
      if (this.depth === 0) {
        if (this.closed) return;
        await new Promise<void>((r) => (this.waitingConsumer = r));
        continue;
      }
      let item: T | undefined = this.items[this.head] as T;
      this.items[this.head] = undefined as T;
      this.weight -= this.sizes[this.head] ?? 0;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.sizes.splice(0, this.head);
        this.head = 0;
      }
      this.onDepth?.(this.depth, this.weight);
      this.admit();
      yield item as T;
      // A suspended generator keeps its locals: without this the last item (say a start-up
      // snapshot of every object) stays in memory until the next one arrives.
      item = undefined;
    }
  }

  close(): void {
    this.closed = true;
    this.waitingConsumer?.();
    this.waitingConsumer = undefined;
    for (const w of this.waitingPushers.splice(0)) w.done(closedError());
  }
}

function closedError(): KubescribeError {
  return new KubescribeError('KUBESCRIBE_ERR_QUEUE_CLOSED', 'the queue is closed');
}
