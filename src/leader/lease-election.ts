// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics:
// - every retry period (renewIntervalMs) the leader renews and a candidate tries to acquire, on a
//   timer of its own: a request that hangs never delays the next check;
// - a candidate takes the lease over when it has not seen it change for a whole leaseDuration,
//   counted from when it *received* the unchanged record (its own clock: skew does not matter);
// - a leader that has not renewed within renewDeadline (< leaseDuration) of sending its last
//   successful renewal stops leading at once, from a timer, whatever its requests are doing; every
//   renewal request is cut at that deadline. So the old leader has stopped before any candidate
//   can acquire: leaseDuration − renewDeadline is the margin for clocks running at different rates.
// Only the leader runs watch, queue and Git; onStoppedLeading must fence its writers synchronously.
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
  get(signal: AbortSignal): Promise<Lease | undefined>;
  create(spec: LeaseSpec, signal: AbortSignal): Promise<Lease>;
  update(lease: Lease, signal: AbortSignal): Promise<Lease>;
}

export interface LeaseElectionOptions {
  store: LeaseStore;
  identity: string;
  leaseDurationMs: number;
  /** Default: two thirds of leaseDurationMs. */
  renewDeadlineMs?: number;
  /** The retry period: how often the leader renews and a candidate tries. */
  renewIntervalMs: number;
  logger: Logger;
  onStartedLeading: () => void;
  /** Called synchronously when leadership ends (deadline passed, lease lost, stop). */
  onStoppedLeading: (reason: string) => void;
  /** Each successful renewal: the time since the previous one (for a metric). */
  onRenewed?: (gapMs: number) => void;
  now?: () => number;
}

const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaseElection {
  private leading = false;
  private observed: { json: string; at: number } | undefined;
  /** When the last successful renewal (or acquisition) was sent. */
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private attempt: Promise<void> | undefined;
  /** Cuts the attempt under way (stop() ends it before releasing the lease). */
  private attemptAbort: AbortController | undefined;
  private stopped = false;
  private readonly renewDeadlineMs: number;

  constructor(private readonly o: LeaseElectionOptions) {
    this.renewDeadlineMs = o.renewDeadlineMs ?? Math.floor((o.leaseDurationMs * 2) / 3);
    if (!(o.renewIntervalMs < this.renewDeadlineMs && this.renewDeadlineMs < o.leaseDurationMs)) {
      throw new Error(`lease election: need renewInterval (${o.renewIntervalMs}) < renewDeadline (${this.renewDeadlineMs}) < leaseDuration (${o.leaseDurationMs})`);
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      // One request chain at a time; a slow one is cut by its own deadline, and the next tick
      // comes on time regardless.
      if (!this.attempt) {
        const a = this.tryAcquireOrRenew()
          .catch((err: unknown) => this.o.logger.warn({ err: (err as Error).message, leading: this.leading }, 'lease: request failed'))
          .finally(() => { if (this.attempt === a) this.attempt = undefined; });
        this.attempt = a;
      }
      this.timer = setTimeout(tick, this.o.renewIntervalMs);
    };
    tick();
  }

  /** Stops; a leader fences itself, then releases the lease so that another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    // A renewal or acquisition under way is cut and waited for: answered after the release below,
    // it would take the lease back (its GET seeing the released lease) and hold up the next leader.
    this.attemptAbort?.abort(new Error('lease election stopped'));
    await this.attempt;
    if (!this.leading) return;
    this.setLeading(false, 'stopping');
    const ac = new AbortController();
    const cut = setTimeout(() => ac.abort(), this.o.renewIntervalMs);
    try {
      const lease = await this.o.store.get(ac.signal);
      if (lease?.spec.holderIdentity === this.o.identity) {
        await this.o.store.update({ ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.now()) } }, ac.signal);
      }
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'lease: could not release');
    } finally {
      clearTimeout(cut);
    }
  }

  private now(): number {
    return this.o.now ? this.o.now() : Date.now();
  }

  private setLeading(v: boolean, reason: string): void {
    if (v === this.leading) return;
    this.leading = v;
    clearTimeout(this.deadlineTimer);
    this.o.logger.info({ identity: this.o.identity, reason }, v ? 'became the leader' : 'stopped leading');
    if (v) this.o.onStartedLeading();
    else this.o.onStoppedLeading(reason);
  }

  /** Records a successful renewal sent at `sentAt`; the leader's deadline timer runs from it. */
  private renewed(sentAt: number, reason: string): void {
    // A request sent before stop() may answer after it: a stopped election never leads again (it
    // did, in the chart's failover spec: the pod being deleted led a second time while another
    // replica took the lease it had released, and both wrote).
    if (this.stopped) return;
    const gap = this.lastRenew > 0 ? sentAt - this.lastRenew : 0;
    this.lastRenew = sentAt;
    const left = sentAt + this.renewDeadlineMs - this.now();
    if (left <= 0) {
      // The answer came after the deadline: we had stopped, and a candidate may count from then.
      this.setLeading(false, 'renewed only after the renew deadline');
      return;
    }
    this.setLeading(true, reason);
    if (gap > 0) this.o.onRenewed?.(gap);
    this.armDeadline();
  }

  /**
   * Stops leading once the renew deadline has passed since the last renewal. A timer can fire a
   * little before its time by this clock (Node schedules from the event loop's cached time, stale
   * after a long turn): then it is armed again for what is left, never dropped — dropped, a leader
   * cut off from the API server kept leading and pushed 1.9 s after its deadline (the split-brain
   * spec, CI of 12-07).
   */
  private armDeadline(): void {
    clearTimeout(this.deadlineTimer);
    const left = this.lastRenew + this.renewDeadlineMs - this.now();
    if (left <= 0) {
      this.setLeading(false, `could not renew the lease within the renew deadline (${this.renewDeadlineMs} ms)`);
      return;
    }
    this.deadlineTimer = setTimeout(() => { if (this.leading) this.armDeadline(); }, left);
  }

  private async tryAcquireOrRenew(): Promise<void> {
    // A leader's requests end at its renew deadline; a candidate's within the renew deadline too.
    const budget = this.leading ? this.lastRenew + this.renewDeadlineMs - this.now() : this.renewDeadlineMs;
    if (budget <= 0) return;
    // A timer of our own rather than AbortSignal.timeout: the same clock as the deadline timer.
    const deadline = new AbortController();
    this.attemptAbort = deadline;
    const cut = setTimeout(() => deadline.abort(new Error(`lease request: no answer within ${budget} ms`)), budget);
    try {
      await this.attemptWithin(deadline.signal);
    } finally {
      clearTimeout(cut);
      if (this.attemptAbort === deadline) this.attemptAbort = undefined;
    }
  }

  private async attemptWithin(signal: AbortSignal): Promise<void> {
    const durationS = Math.ceil(this.o.leaseDurationMs / 1000);
    const lease = await this.o.store.get(signal);
    if (this.stopped) return; // stopped meanwhile: write nothing (stop() releases the lease)
    const now = this.now();
    if (!lease) {
      await this.o.store.create({ holderIdentity: this.o.identity, leaseDurationSeconds: durationS, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 }, signal);
      this.renewed(now, 'created the lease');
      return;
    }
    const json = JSON.stringify(lease.spec);
    if (this.observed?.json !== json) this.observed = { json, at: now };
    const holder = lease.spec.holderIdentity ?? '';
    const mine = holder === this.o.identity;
    const expired = holder === '' || this.observed.at + (lease.spec.leaseDurationSeconds ?? durationS) * 1000 <= now;
    if (!mine && !expired) {
      this.setLeading(false, `the lease is held by ${holder}`);
      return;
    }
    const spec: LeaseSpec = mine
      ? { ...lease.spec, renewTime: microTime(now), leaseDurationSeconds: durationS }
      : { holderIdentity: this.o.identity, leaseDurationSeconds: durationS, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: (lease.spec.leaseTransitions ?? 0) + 1 };
    const updated = await this.o.store.update({ ...lease, spec }, signal);
    this.observed = { json: JSON.stringify(updated.spec), at: now };
    this.renewed(now, mine ? 'renewed' : `took over from ${holder || 'nobody'}`);
  }
}
