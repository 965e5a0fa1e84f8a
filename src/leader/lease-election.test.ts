import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LeaseElection, type Lease, type LeaseSpec, type LeaseStore } from './lease-election.ts';

/**
 * An in-memory Lease with optimistic concurrency, as the apiserver does it. `partitioned` makes
 * one identity's requests hang until their signal aborts (a black-holed connection).
 */
function fakeStore() {
  let rv = 0;
  const partitioned = new Set<string>();
  const state: { lease?: Lease } = {};
  const hang = (signal: AbortSignal): Promise<never> => new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
  const storeFor = (who: string): LeaseStore => ({
    async get(signal) {
      if (partitioned.has(who)) return hang(signal);
      return state.lease && structuredClone(state.lease);
    },
    async create(spec: LeaseSpec, signal) {
      if (partitioned.has(who)) return hang(signal);
      if (state.lease) throw new Error('409 AlreadyExists');
      state.lease = { metadata: { name: 'l', namespace: 'ns', resourceVersion: String(++rv) }, spec };
      return structuredClone(state.lease);
    },
    async update(l: Lease, signal) {
      if (partitioned.has(who)) return hang(signal);
      if (l.metadata.resourceVersion !== state.lease?.metadata.resourceVersion) throw new Error('409 Conflict');
      state.lease = { ...l, metadata: { ...l.metadata, resourceVersion: String(++rv) } };
      return structuredClone(state.lease);
    },
  });
  return { state, partitioned, storeFor };
}

type Store = ReturnType<typeof fakeStore>;

/** A candidate whose events are timestamped (ms on the fake clock). */
function candidate(s: Store, identity: string, timing = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, renewIntervalMs: 2_000 }) {
  const events: Array<[string, number]> = [];
  const gaps: number[] = [];
  const e = new LeaseElection({
    store: s.storeFor(identity), identity, ...timing, logger: pino({ level: 'silent' }),
    onStartedLeading: () => events.push(['start', Date.now()]),
    onStoppedLeading: () => events.push(['stop', Date.now()]),
    onRenewed: (g) => gaps.push(g),
  });
  return { e, events, gaps };
}

beforeEach(() => { vi.useFakeTimers({ now: 1_000_000 }); });
afterEach(() => { vi.useRealTimers(); });

describe('lease election (client-go semantics)', () => {
  it('elects one leader that renews every retry period; another takes over only after the lease went unrenewed for its duration', async () => {
    const s = fakeStore();
    const a = candidate(s, 'a');
    a.e.start();
    await vi.advanceTimersByTimeAsync(10);
    const b = candidate(s, 'b');
    b.e.start();
    await vi.advanceTimersByTimeAsync(20_000);
    expect([a.e.isLeader, b.e.isLeader]).toEqual([true, false]);
    expect(Math.max(...a.gaps)).toBe(2_000); // the retry period, exactly
    // a crashes (stops renewing, keeps the lease): b acquires 15 s after it last saw a change.
    const crashedAt = Date.now();
    clearTimeout((a.e as unknown as { timer: NodeJS.Timeout }).timer);
    (a.e as unknown as { stopped: boolean }).stopped = true;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(b.e.isLeader).toBe(true);
    const took = b.events.find(([k]) => k === 'start')![1];
    expect(took - crashedAt).toBeGreaterThanOrEqual(15_000 - 2_000);
    expect(took - crashedAt).toBeLessThanOrEqual(15_000 + 2_000);
    expect(s.state.lease?.spec.leaseTransitions).toBe(1);
  });

  it('a leader whose requests hang stops at its renew deadline, before any other replica can acquire', async () => {
    const s = fakeStore();
    const a = candidate(s, 'a');
    a.e.start();
    await vi.advanceTimersByTimeAsync(10);
    const b = candidate(s, 'b');
    b.e.start();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(a.e.isLeader).toBe(true);
    const lastRenew = Date.now() - ((Date.now() - 1_000_000) % 2_000); // renewals at the retry period from t0
    s.partitioned.add('a'); // black hole: a's requests never answer
    await vi.advanceTimersByTimeAsync(30_000);
    const stoppedAt = a.events.find(([k]) => k === 'stop')![1];
    const acquiredAt = b.events.find(([k]) => k === 'start')![1];
    expect(stoppedAt - lastRenew).toBeLessThanOrEqual(10_000);
    expect(stoppedAt - lastRenew).toBeGreaterThan(8_000);
    expect(acquiredAt - stoppedAt).toBeGreaterThanOrEqual(5_000 - 2_000); // leaseDuration − renewDeadline, less one retry period of observation
    expect(acquiredAt).toBeGreaterThan(stoppedAt);
    expect([a.e.isLeader, b.e.isLeader]).toEqual([false, true]);
    // Healed: a sees b's fresh lease and stays a candidate.
    s.partitioned.delete('a');
    await vi.advanceTimersByTimeAsync(10_000);
    expect([a.e.isLeader, b.e.isLeader]).toEqual([false, true]);
  });

  it('keeps its retry period while a request hangs (the next try does not wait for it)', async () => {
    const s = fakeStore();
    const a = candidate(s, 'a');
    s.partitioned.add('a');
    a.e.start();
    await vi.advanceTimersByTimeAsync(9_000);
    s.partitioned.delete('a'); // healed, but the first request still hangs: it is cut at 10 s (the renew deadline)
    await vi.advanceTimersByTimeAsync(3_100);
    expect(a.e.isLeader).toBe(true);
    expect(a.events[0]![1] - 1_000_000).toBeLessThanOrEqual(12_000);
  });

  it('a renewal answered only after the renew deadline does not keep it leading', async () => {
    const s = fakeStore();
    let delayMs = 0;
    const inner = s.storeFor('a');
    const slow: LeaseStore = {
      get: async (sig) => { await new Promise((r) => setTimeout(r, delayMs)); return inner.get(sig); },
      create: (spec, sig) => inner.create(spec, sig),
      update: (l, sig) => inner.update(l, sig),
    };
    const stops: number[] = [];
    const e = new LeaseElection({ store: slow, identity: 'a', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, renewIntervalMs: 2_000, logger: pino({ level: 'silent' }), onStartedLeading: () => undefined, onStoppedLeading: () => stops.push(Date.now()) });
    e.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(e.isLeader).toBe(true);
    delayMs = 60_000; // the store ignores the abort and answers late
    await vi.advanceTimersByTimeAsync(70_000);
    expect(stops.length).toBeGreaterThanOrEqual(1);
    expect(stops[0]! - 1_000_000).toBeLessThanOrEqual(10_000);
  });

  it('releases the lease on stop so that another replica leads at once', async () => {
    const s = fakeStore();
    const a = candidate(s, 'a');
    const b = candidate(s, 'b');
    a.e.start();
    await vi.advanceTimersByTimeAsync(10);
    b.e.start();
    await vi.advanceTimersByTimeAsync(10);
    await a.e.stop();
    await vi.advanceTimersByTimeAsync(2_100);
    expect(b.e.isLeader).toBe(true);
    expect(a.events.map(([k]) => k)).toEqual(['start', 'stop']);
  });

  it('a renewal in flight when it stops does not make it lead again (the chart failover spec, CI of 12-07)', async () => {
    const s = fakeStore();
    let delayMs = 0;
    const inner = s.storeFor('a');
    // The renewal's GET is slow; the release's (stop) is not.
    let slowGets = 0;
    const slow: LeaseStore = {
      get: async (sig) => { if (delayMs > 0 && slowGets++ === 0) await new Promise((r) => setTimeout(r, delayMs)); return inner.get(sig); },
      create: (spec, sig) => inner.create(spec, sig),
      update: (l, sig) => inner.update(l, sig),
    };
    const events: string[] = [];
    const e = new LeaseElection({ store: slow, identity: 'a', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, renewIntervalMs: 2_000, logger: pino({ level: 'silent' }), onStartedLeading: () => events.push('start'), onStoppedLeading: (r) => events.push(`stop: ${r}`) });
    e.start();
    await vi.advanceTimersByTimeAsync(100);
    delayMs = 500;
    await vi.advanceTimersByTimeAsync(2_000); // the next renewal is sent, its GET answers in 500 ms
    const stopped = e.stop();
    await vi.advanceTimersByTimeAsync(1_000); // ...after stop() has let the lease go
    await stopped;
    expect(events).toEqual(['start', 'stop: stopping']);
    expect(e.isLeader).toBe(false);
    expect(s.state.lease?.spec.holderIdentity).toBe(''); // released, and not taken back
  });

  it('a deadline timer that fires a little early is armed again, not dropped: a cut-off leader still stops (split-brain spec, CI of 12-07)', async () => {
    const s = fakeStore();
    let lag = 0; // how far this clock is behind the timers' (Node's timers run on the loop's cached time)
    const stops: string[] = [];
    const e = new LeaseElection({ store: s.storeFor('a'), identity: 'a', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, renewIntervalMs: 2_000, logger: pino({ level: 'silent' }), now: () => Date.now() - lag, onStartedLeading: () => undefined, onStoppedLeading: (r) => stops.push(r) });
    e.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(e.isLeader).toBe(true);
    s.partitioned.add('a'); // cut off from the API server: no renewal answers again
    lag = 3; // the deadline timer will fire 3 ms before the deadline by this clock
    await vi.advanceTimersByTimeAsync(12_000);
    expect(stops).toEqual(['could not renew the lease within the renew deadline (10000 ms)']);
    expect(e.isLeader).toBe(false);
  });

  it('refuses timings where the renew deadline is not between the retry period and the lease duration', () => {
    const s = fakeStore();
    expect(() => candidate(s, 'x', { leaseDurationMs: 10_000, renewDeadlineMs: 10_000, renewIntervalMs: 2_000 })).toThrow(/renewDeadline/);
    expect(() => candidate(s, 'x', { leaseDurationMs: 15_000, renewDeadlineMs: 2_000, renewIntervalMs: 2_000 })).toThrow(/renewInterval/);
  });
});
