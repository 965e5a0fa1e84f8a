export { BoundedQueue, type QueueBytes } from './bounded-queue.ts';
export { itemBytes, noteBytes, objectBytes } from './item-size.ts';
