import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LeaseElection, type Lease, type LeaseSpec, type LeaseStore } from './lease-election.ts';

/** An in-memory Lease with optimistic concurrency, as the apiserver does it. */
function fakeStore(): LeaseStore & { lease?: Lease; down: boolean } {
  let rv = 0;
  const s: LeaseStore & { lease?: Lease; down: boolean } = {
    down: false,
    async get() { if (s.down) throw new Error('unreachable'); return s.lease && structuredClone(s.lease); },
    async create(spec: LeaseSpec) {
      if (s.lease) throw new Error('409 AlreadyExists');
      s.lease = { metadata: { name: 'l', namespace: 'ns', resourceVersion: String(++rv) }, spec };
      return structuredClone(s.lease);
    },
    async update(l: Lease) {
      if (s.down) throw new Error('unreachable');
      if (l.metadata.resourceVersion !== s.lease?.metadata.resourceVersion) throw new Error('409 Conflict');
      s.lease = { ...l, metadata: { ...l.metadata, resourceVersion: String(++rv) } };
      return structuredClone(s.lease);
    },
  };
  return s;
}

function candidate(store: LeaseStore, identity: string, clock: { t: number }) {
  const events: string[] = [];
  const e = new LeaseElection({ store, identity, leaseDurationMs: 15_000, renewIntervalMs: 5_000, logger: pino({ level: 'silent' }), now: () => clock.t,
    onStartedLeading: () => events.push('start'), onStoppedLeading: () => events.push('stop') });
  return { e, events, tick: () => (e as unknown as { tryAcquireOrRenew(): Promise<void> }).tryAcquireOrRenew().catch(() => undefined) };
}

describe('lease election', () => {
  it('elects one leader; another takes over only after the lease went unrenewed for its duration', async () => {
    const store = fakeStore();
    const clock = { t: 1_000_000 };
    const a = candidate(store, 'a', clock);
    const b = candidate(store, 'b', clock);
    await a.tick();
    await b.tick();
    expect([a.e.isLeader, b.e.isLeader]).toEqual([true, false]);
    clock.t += 10_000; // a renews in time
    await a.tick();
    await b.tick();
    expect(b.e.isLeader).toBe(false);
    clock.t += 14_000; // a stops renewing (crashed): not expired yet for b
    await b.tick();
    expect(b.e.isLeader).toBe(false);
    clock.t += 15_000;
    await b.tick();
    expect(b.e.isLeader).toBe(true);
    expect(store.lease?.spec.leaseTransitions).toBe(1);
    // a comes back: it sees b holding a fresh lease and steps down.
    await a.tick();
    expect(a.e.isLeader).toBe(false);
    expect(a.events).toEqual(['start', 'stop']);
  });

  it('a leader that cannot renew for a lease duration stops leading', async () => {
    const store = fakeStore();
    const clock = { t: 0 };
    const a = candidate(store, 'a', clock);
    await a.tick();
    store.down = true;
    clock.t += 10_000;
    await a.tick();
    expect(a.e.isLeader).toBe(true);
    clock.t += 6_000;
    await a.tick();
    expect(a.e.isLeader).toBe(false);
  });

  it('releases the lease on stop so that another replica leads at once', async () => {
    const store = fakeStore();
    const clock = { t: 0 };
    const a = candidate(store, 'a', clock);
    const b = candidate(store, 'b', clock);
    await a.tick();
    await a.e.stop();
    await b.tick();
    expect(b.e.isLeader).toBe(true);
  });
});
