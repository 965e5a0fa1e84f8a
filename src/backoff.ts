// The one retry delay of kubescribe: exponential from a base, capped, with jitter so that several
// replicas, writers or watches do not hammer a recovering server in step. Used by pushes (1 s → 30 s),
// watches and custom-resource caches (settings.watch.backoffMs → maxBackoffMs) and destinations
// that cannot be opened or written.
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  /** The delay is multiplied by a random factor in [low, high]; default ±20 %. */
  jitter?: readonly [number, number];
}

/** The delay after `failures` consecutive failures (1 = the first). */
export function backoffDelay(failures: number, o: BackoffOptions): number {
  const [low, high] = o.jitter ?? [0.8, 1.2];
  const exp = Math.min(o.capMs, o.baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(Math.min(o.capMs, exp * (low + Math.random() * (high - low))));
}

/** A retry loop's state: `next()` after a failure, `reset()` after a success. */
export class Backoff {
  private failures = 0;
  constructor(private readonly o: BackoffOptions) {}

  next(): number {
    this.failures++;
    return backoffDelay(this.failures, this.o);
  }

  reset(): void {
    this.failures = 0;
  }
}

/** Waits `ms`, or less if the signal aborts (resolves either way). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
