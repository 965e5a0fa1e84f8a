export { BoundedQueue } from './bounded-queue.ts';
