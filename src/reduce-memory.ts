// A memory-reducing full GC, through the in-process inspector (no port is opened, no flag is
// needed): `HeapProfiler.collectGarbage` collects everything unreachable and shrinks the heap,
// which neither a quiet process nor `gc()` under --expose-gc does (measured on Node 20: after
// 300,000 dropped objects, gc() left a 36 MiB heap and 84 MiB RSS; this, 5 MiB and 52 MiB).
// It holds the event loop for its whole run (tens to hundreds of ms after a large snapshot, see
// bench/replica-admission.ts), and that loop also answers admission. So MemoryRelease runs it only
// once the process is quiet — nothing recorded (a review answered here, or a peer's push) for
// `quietMs` — checking again every `retryMs`, and gives up after `maxWaitMs` of steady traffic:
// under steady traffic V8's own incremental GC keeps the heap in check, only the peak RSS stays.
import { Session } from 'node:inspector';

let running: Promise<void> | undefined;

export function reduceMemory(): Promise<void> {
  running ??= new Promise<void>((resolve, reject) => {
    const session = new Session();
    session.connect();
    session.post('HeapProfiler.collectGarbage', (err) => {
      // Disconnecting inside the callback hangs the process (Node 20): leave the callback first.
      setImmediate(() => {
        session.disconnect();
        running = undefined;
        if (err) reject(err);
        else resolve();
      });
    });
  });
  return running;
}

export interface MemoryReleaseOptions {
  /** When something last happened that a pause would delay (performance.now() ms), if ever. */
  lastActivity: () => number | undefined;
  /** Quiet this long before the GC runs (default 2,000 ms). */
  quietMs?: number;
  /** How often to look again while it is not quiet (default 500 ms). */
  retryMs?: number;
  /** Give up after this long without a quiet moment (default 10 minutes). */
  maxWaitMs?: number;
  /** The GC; reduceMemory by default. */
  gc?: () => Promise<void>;
  now?: () => number;
  /** After a run, with how long it took (ms) — the pause it caused. */
  ran?: (ms: number) => void;
  /** A request given up (steady traffic) or failed. */
  skipped?: (reason: 'busy' | 'failed', err?: unknown) => void;
}

/** Runs the memory-reducing GC when asked, at the next quiet moment; one pending request at most. */
export class MemoryRelease {
  private timer: NodeJS.Timeout | undefined;
  private since = 0;

  constructor(private readonly o: MemoryReleaseOptions) {}

  request(): void {
    if (this.timer) return;
    this.since = this.now();
    this.check();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    this.timer = undefined;
    const now = this.now();
    const last = this.o.lastActivity();
    if (last !== undefined && now - last < (this.o.quietMs ?? 2000)) {
      if (now - this.since >= (this.o.maxWaitMs ?? 600_000)) { this.o.skipped?.('busy'); return; }
      this.timer = setTimeout(() => this.check(), this.o.retryMs ?? 500);
      this.timer.unref();
      return;
    }
    const t0 = this.now();
    void (this.o.gc ?? reduceMemory)().then(() => this.o.ran?.(this.now() - t0), (err: unknown) => this.o.skipped?.('failed', err));
  }

  private now(): number {
    return (this.o.now ?? (() => performance.now()))();
  }
}
