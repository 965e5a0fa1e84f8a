// A bounded FIFO with back-pressure: `push` waits while the queue is full, so the watch stops
// reading instead of dropping anything; nothing is ever silently dropped. One queue per Git
// writer, so changes are in order per object (and across objects of that branch).
import { KubescribeError } from '../errors.ts';

export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private head = 0;
  private readonly waitingPushers: Array<() => void> = [];
  private waitingConsumer: ((v: void) => void) | undefined;
  private closed = false;

  constructor(private readonly capacity: number, private readonly onDepth?: (depth: number) => void) {}

  get depth(): number {
    return this.items.length - this.head;
  }

  async push(item: T): Promise<void> {
    while (this.depth >= this.capacity && !this.closed) {
      await new Promise<void>((r) => this.waitingPushers.push(r));
    }
    if (this.closed) throw new KubescribeError('KUBESCRIBE_ERR_QUEUE_CLOSED', 'the queue is closed');
    this.items.push(item);
    this.onDepth?.(this.depth);
    const c = this.waitingConsumer;
    this.waitingConsumer = undefined;
    c?.();
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
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.head = 0;
      }
      this.onDepth?.(this.depth);
      this.waitingPushers.shift()?.();
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
    for (const p of this.waitingPushers.splice(0)) p();
  }
}
