// The cluster's catalogue of resource types, kept by API discovery on a timer: a changed catalogue
// (a CRD installed or removed) requests a reconcile; an unchanged one still calls `unchanged`, which
// the controller uses to repair webhook rules edited by hand. Until the first discovery succeeds it
// retries at the watch backoff instead of the (long) discovery interval.
import type { Logger } from 'pino';
import type { ResourceType } from '../kube-object.ts';

export interface DiscoveryLoopOptions {
  discover: () => Promise<ResourceType[]>;
  intervalMs: number;
  retryMs: number;
  changed: () => void;
  unchanged: () => Promise<void>;
  logger: Logger;
}

export class DiscoveryLoop {
  private types: ResourceType[] = [];
  private signature = '';
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: DiscoveryLoopOptions) {}

  /** The resource types the cluster serves (empty until discovery first succeeds). */
  catalogue(): readonly ResourceType[] {
    return this.types;
  }

  /** Discovers once now (resolves when done), then keeps discovering until stopped. */
  async start(): Promise<void> {
    await this.tick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async tick(): Promise<void> {
    try {
      const next = await this.o.discover();
      const sig = JSON.stringify(next.map((t) => `${t.group}/${t.version}/${t.resource}`).sort());
      if (sig !== this.signature) {
        this.types = next;
        this.signature = sig;
        this.o.changed();
      } else {
        await this.o.unchanged();
      }
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'API discovery failed; retrying');
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.types.length > 0 ? this.o.intervalMs : this.o.retryMs);
  }
}
