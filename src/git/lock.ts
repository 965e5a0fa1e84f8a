// The one place where git operations are serialized. isomorphic-git is not safe for concurrent
// operations on one repository, and our own state (tip, in-memory tree, journal) assumes one
// writer at a time, so every operation on a repository directory runs inside its lock: a
// promise chain where each task starts when the previous one has settled.
import { resolve } from 'node:path';

export class RepoLock {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  /** Runs fn after every task queued before it has settled; a failing task does not break the chain. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    this.waiting++;
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => { this.waiting--; },
      () => { this.waiting--; },
    );
    return result;
  }

  /** Tasks queued or running. */
  get size(): number {
    return this.waiting;
  }
}

const locks = new Map<string, RepoLock>();

/** The lock of a repository directory: two writers opened on the same dir share it. */
export function lockFor(dir: string): RepoLock {
  const key = resolve(dir);
  let lock = locks.get(key);
  if (!lock) {
    lock = new RepoLock();
    locks.set(key, lock);
  }
  return lock;
}
