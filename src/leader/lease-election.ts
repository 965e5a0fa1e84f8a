// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: the holder renews the
// lease every renewInterval; a candidate takes it over when it has not seen the lease change for
// a whole leaseDuration (measured on its own clock, so clock skew between nodes does not matter).
// Only the leader runs watch, queue and Git; the others serve the webhook and stand by.
import type { Logger } from 'pino';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease { metadata: { name: string; namespace: string; resourceVersion?: string }; spec: LeaseSpec }

/** Access to one Lease object; `update` must fail (throw) when resourceVersion is stale. */
export interface LeaseStore {
  get(): Promise<Lease | undefined>;
  create(spec: LeaseSpec): Promise<Lease>;
  update(lease: Lease): Promise<Lease>;
}

export interface LeaseElectionOptions {
  store: LeaseStore;
  identity: string;
  leaseDurationMs: number;
  renewIntervalMs: number;
  logger: Logger;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  now?: () => number;
}

const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaseElection {
  private leading = false;
  private observed: { json: string; at: number } | undefined;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: LeaseElectionOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    const tick = async (): Promise<void> => {
      await this.tryAcquireOrRenew().catch((err: unknown) => this.o.logger.warn({ err: (err as Error).message }, 'lease: request failed'));
      if (!this.stopped) this.timer = setTimeout(() => void tick(), this.o.renewIntervalMs);
    };
    void tick();
  }

  /** Stops; a leader releases the lease so that another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.setLeading(false);
    try {
      const lease = await this.o.store.get();
      if (lease?.spec.holderIdentity === this.o.identity) {
        await this.o.store.update({ ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.now()) } });
      }
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'lease: could not release');
    }
  }

  private now(): number {
    return this.o.now ? this.o.now() : Date.now();
  }

  private setLeading(v: boolean): void {
    if (v === this.leading) return;
    this.leading = v;
    this.o.logger.info({ identity: this.o.identity }, v ? 'became the leader' : 'stopped leading');
    if (v) this.o.onStartedLeading();
    else this.o.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const now = this.now();
    const durationS = Math.ceil(this.o.leaseDurationMs / 1000);
    let lease: Lease | undefined;
    try {
      lease = await this.o.store.get();
    } catch (err) {
      this.checkRenewDeadline(now);
      throw err;
    }
    if (!lease) {
      await this.o.store.create({ holderIdentity: this.o.identity, leaseDurationSeconds: durationS, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 });
      this.lastRenew = now;
      this.setLeading(true);
      return;
    }
    const json = JSON.stringify(lease.spec);
    if (this.observed?.json !== json) this.observed = { json, at: now };
    const holder = lease.spec.holderIdentity ?? '';
    const mine = holder === this.o.identity;
    const expired = holder === '' || this.observed.at + (lease.spec.leaseDurationSeconds ?? durationS) * 1000 <= now;
    if (!mine && !expired) {
      this.setLeading(false);
      return;
    }
    const spec: LeaseSpec = mine
      ? { ...lease.spec, renewTime: microTime(now), leaseDurationSeconds: durationS }
      : { holderIdentity: this.o.identity, leaseDurationSeconds: durationS, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: (lease.spec.leaseTransitions ?? 0) + 1 };
    try {
      const updated = await this.o.store.update({ ...lease, spec });
      this.observed = { json: JSON.stringify(updated.spec), at: now };
      this.lastRenew = now;
      this.setLeading(true);
    } catch (err) {
      this.checkRenewDeadline(now);
      throw err;
    }
  }

  /** A leader that could not renew for a whole lease duration must assume another took over. */
  private checkRenewDeadline(now: number): void {
    if (this.leading && now - this.lastRenew >= this.o.leaseDurationMs) this.setLeading(false);
  }
}
