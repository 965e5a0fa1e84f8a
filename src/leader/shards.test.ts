import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LeaseElection, type Lease, type LeaseSpec, type LeaseStore } from './lease-election.ts';
import { Members } from './members.ts';
import { assign, destinationLeaseName, memberLeaseName, preferredHolder } from './rendezvous.ts';
import { Shards, type ShardWriter } from './shards.ts';

const logger = pino({ level: 'silent' });
const timing = { leaseDurationMs: 4000, renewDeadlineMs: 2600, renewIntervalMs: 1000 };

/** Leases by name with optimistic concurrency, as the apiserver does; a partitioned identity's requests hang. */
function fakeCluster() {
  let rv = 0;
  const leases = new Map<string, Lease>();
  const partitioned = new Set<string>();
  const hang = (signal: AbortSignal): Promise<never> => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
  const store = (who: string, name: string): LeaseStore => ({
    async get(signal) { return partitioned.has(who) ? hang(signal) : structuredClone(leases.get(name)); },
    async create(spec: LeaseSpec, signal) {
      if (partitioned.has(who)) return hang(signal);
      if (leases.has(name)) throw new Error('409 AlreadyExists');
      leases.set(name, { metadata: { name, namespace: 'ns', resourceVersion: String(++rv) }, spec });
      return structuredClone(leases.get(name)!);
    },
    async update(l: Lease, signal) {
      if (partitioned.has(who)) return hang(signal);
      if (l.metadata.resourceVersion !== leases.get(name)?.metadata.resourceVersion) throw new Error('409 Conflict');
      leases.set(name, { ...l, metadata: { ...l.metadata, resourceVersion: String(++rv) } });
      return structuredClone(leases.get(name)!);
    },
  });
  const list = async (who: string, signal: AbortSignal): Promise<Lease[]> => (partitioned.has(who) ? hang(signal) : [...leases.values()].map((l) => structuredClone(l)));
  return { leases, partitioned, store, list };
}

/** Who wrote which destination when: [start, end) on the fake clock, per writer. */
type Ledger = Array<{ destination: string; id: string; start: number; end?: number }>;

function replica(c: ReturnType<typeof fakeCluster>, id: string, destinations: string[], ledger: Ledger) {
  const member = new LeaseElection({ store: c.store(id, memberLeaseName('ks', id)), identity: id, ...timing, logger, onStartedLeading: () => undefined, onStoppedLeading: () => undefined });
  const members = new Members({ identity: id, prefix: 'ks-m-', leaseDurationMs: timing.leaseDurationMs, list: (s) => c.list(id, s) });
  const shards = new Shards<ShardWriter>({
    identity: id, logger, members: () => members.live(), assign,
    election: (d, on) => new LeaseElection({ store: c.store(id, destinationLeaseName('ks', d)), identity: id, ...timing, logger, ...on }),
    start: async (destination) => {
      const entry: Ledger[number] = { destination, id, start: Date.now() };
      ledger.push(entry);
      const end = (): void => { entry.end ??= Date.now(); };
      return { stop: async () => end(), fence: async () => end() };
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const tick = async (): Promise<void> => {
    const ac = new AbortController();
    const cut = setTimeout(() => ac.abort(), timing.renewIntervalMs);
    await members.refresh(ac.signal).catch(() => undefined).finally(() => clearTimeout(cut));
    if (members.known) shards.setDestinations(destinations);
    timer = setTimeout(() => void tick(), timing.renewIntervalMs);
  };
  member.start();
  void tick();
  return {
    id, shards,
    held: () => [...shards.held().keys()],
    async stop() { clearTimeout(timer); await shards.stop(); await member.stop(); },
  };
}

const destinations = Array.from({ length: 6 }, (_, i) => `settings@b${i}`);

/** No destination had two writers at once. */
function expectNoOverlap(ledger: Ledger): void {
  for (const d of destinations) {
    const spans = ledger.filter((e) => e.destination === d).sort((a, b) => a.start - b.start);
    for (let i = 1; i < spans.length; i++) expect(spans[i - 1]!.end, `${d}: ${spans[i - 1]!.id} still wrote when ${spans[i]!.id} began`).toBeLessThanOrEqual(spans[i]!.start);
  }
}

describe('destinations shared by Lease', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  it('rendezvous hashing: deterministic, a member leaving moves only its own destinations; bounded: balanced', () => {
    const many = Array.from({ length: 600 }, (_, i) => `repo-${i}@main`);
    const three = ['a', 'b', 'c'];
    const owners = many.map((d) => preferredHolder(d, three));
    for (const id of three) expect(owners.filter((o) => o === id).length).toBeGreaterThan(150);
    const two = many.map((d) => preferredHolder(d, ['a', 'b']));
    owners.forEach((o, i) => { if (o !== 'c') expect(two[i]).toBe(o); });
    expect(preferredHolder('x@main', ['c', 'a', 'b'])).toBe(preferredHolder('x@main', three));
    // Bounded: 6 over 3 is 2 each, whatever the hashes; the same for any order of the members.
    const six = assign(destinations, three);
    for (const id of three) expect([...six.values()].filter((o) => o === id)).toHaveLength(2);
    expect(assign([...destinations].reverse(), ['c', 'b', 'a'])).toEqual(six);
    expect(new Set(assign(destinations, ['a', 'b']).values())).toEqual(new Set(['a', 'b']));
    expect(destinationLeaseName('k'.repeat(80), 'https://example.com/a/very/long/url.git@feature/x')).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])$/);
  });

  it('spreads 6 destinations over 3 replicas, one writer each, and moves a partitioned replica\'s destinations without overlap', async () => {
    const c = fakeCluster();
    const ledger: Ledger = [];
    const rs = ['r0', 'r1', 'r2'].map((id) => replica(c, id, destinations, ledger));
    await vi.advanceTimersByTimeAsync(10_000);
    const held = rs.map((r) => r.held());
    expect(held.flat().sort()).toEqual(destinations);
    for (const h of held) expect(h).toHaveLength(2);
    for (const d of destinations) expect(c.leases.get(destinationLeaseName('ks', d))?.spec.holderIdentity).toBe(rs.find((r) => r.held().includes(d))!.id);
    const transitions = ledger.length;
    await vi.advanceTimersByTimeAsync(20_000);
    expect(ledger.length).toBe(transitions); // stable: nothing flaps

    const victim = rs.find((r) => r.held().length > 0)!;
    const lost = victim.held();
    c.partitioned.add(victim.id); // its requests hang: as good as dead to the others
    await vi.advanceTimersByTimeAsync(3000);
    expect(victim.held()).toEqual([]); // fenced at its renew deadline, before anyone may take over
    await vi.advanceTimersByTimeAsync(12_000);
    const survivors = rs.filter((r) => r !== victim);
    expect(survivors.flatMap((r) => r.held()).sort()).toEqual(destinations);
    for (const d of lost) expect(survivors.some((r) => r.held().includes(d))).toBe(true);
    expectNoOverlap(ledger);
    c.partitioned.clear();
    await Promise.all(rs.map((r) => r.stop()));
  });

  it('a replica that joins gets its share by handover: stop, then release, then the newcomer starts', async () => {
    const c = fakeCluster();
    const ledger: Ledger = [];
    const rs = ['r0', 'r1'].map((id) => replica(c, id, destinations, ledger));
    await vi.advanceTimersByTimeAsync(8000);
    expect(rs.flatMap((r) => r.held()).sort()).toEqual(destinations);
    const joined = Date.now();
    const late = replica(c, 'r2', destinations, ledger);
    await vi.advanceTimersByTimeAsync(6000);
    const all = [...rs, late];
    expect(all.flatMap((r) => r.held()).sort()).toEqual(destinations);
    const owners = assign(destinations, ['r0', 'r1', 'r2']);
    expect(late.held().sort()).toEqual(destinations.filter((d) => owners.get(d) === 'r2'));
    expect(late.held()).toHaveLength(2);
    // Handed over at once (released), not after a lease duration.
    const firstByLate = Math.min(...ledger.filter((e) => e.id === 'r2').map((e) => e.start));
    expect(firstByLate - joined).toBeLessThan(timing.leaseDurationMs);
    expectNoOverlap(ledger);
    // Leaving: every destination is released and taken by the others.
    await late.stop();
    await vi.advanceTimersByTimeAsync(8000);
    expect(rs.flatMap((r) => r.held()).sort()).toEqual(destinations);
    expectNoOverlap(ledger);
    await Promise.all(rs.map((r) => r.stop()));
  });
});

describe('members', () => {
  it('are live while their Lease changes, and a failed list keeps the last view instead of dropping everyone', async () => {
    let now = 0;
    let leases: Lease[] = [];
    let failing = false;
    const lease = (name: string, holder: string, renew: number): Lease => ({ metadata: { name, namespace: 'ns' }, spec: { holderIdentity: holder, leaseDurationSeconds: 4, renewTime: String(renew) } });
    const m = new Members({ identity: 'a', prefix: 'ks-m-', leaseDurationMs: 4000, now: () => now, list: async () => { if (failing) throw new Error('timeout'); return leases; } });
    expect(m.live()).toEqual(['a']);
    leases = [lease('ks-m-b', 'b', 0), lease('ks-m-c', 'c', 0), lease('other', 'z', 0)];
    expect(await m.refresh(new AbortController().signal)).toBe(true);
    expect(m.live()).toEqual(['a', 'b', 'c']);
    failing = true;
    now = 10_000;
    await expect(m.refresh(new AbortController().signal)).rejects.toThrow();
    expect(m.live()).toEqual(['a', 'b', 'c']); // our own trouble says nothing about them
    failing = false;
    leases = [lease('ks-m-b', 'b', 10_000), lease('ks-m-c', 'c', 0)]; // c stopped renewing
    await m.refresh(new AbortController().signal);
    now = 13_000;
    leases = [lease('ks-m-b', 'b', 13_000), lease('ks-m-c', 'c', 0)];
    await m.refresh(new AbortController().signal);
    expect(m.live()).toEqual(['a', 'b']); // unchanged for 13 s on our clock
    leases = [lease('ks-m-b', '', 13_000)]; // b released its Lease (stopped)
    await m.refresh(new AbortController().signal);
    expect(m.live()).toEqual(['a']);
  });
});
