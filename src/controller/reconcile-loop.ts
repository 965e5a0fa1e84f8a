// The controller's one serialized loop (controller-runtime's work queue with a single key): every
// trigger — a custom resource, a Secret, the discovery catalogue — only *requests* a reconcile.
// Requests within `debounceMs` of each other collapse into one run (custom resources change in
// bursts); a request that arrives while a run is under way is answered by exactly one more run after
// it. Two runs never overlap, so a reconcile always sees the configuration it applies whole: no
// folder is opened twice and no run undoes another's destinations.
export interface ReconcileLoopOptions {
  reconcile: () => Promise<void>;
  /** Quiet time after the last request before a run starts. */
  debounceMs: number;
  onError: (err: unknown) => void;
}

export class ReconcileLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** A request came while a run was under way: run once more when it ends. */
  private again = false;
  private stopped = false;
  /** Completed runs (for readiness and tests). */
  runs = 0;

  constructor(private readonly o: ReconcileLoopOptions) {}

  /** Asks for a reconcile `delayMs` from now (later requests push it back; runs never overlap). */
  request(delayMs = this.o.debounceMs): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), delayMs);
  }

  /** Resolves once no run is pending or under way. */
  async idle(): Promise<void> {
    while (this.running || this.timer) {
      if (this.running) await this.running;
      else await new Promise((r) => setTimeout(r, 5));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private fire(): void {
    this.timer = undefined;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.run();
  }

  private async run(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.o.reconcile();
      } catch (err) {
        this.o.onError(err);
      }
      this.runs++;
    } while (this.again && !this.stopped);
    this.running = undefined;
  }
}
