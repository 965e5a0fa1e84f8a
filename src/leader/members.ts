// The live replicas, for spreading destinations (leaderElection.perDestination). Each replica holds
// a member Lease of its own (`<leaseName>-m-<hash>`, renewed by a LeaseElection nobody else
// contends for, released when it stops) and lists the others. A member is live while its Lease has
// a holder and its record changed within its lease duration, counted on this replica's clock from
// when the change was seen — client-go's rule, so clock skew does not matter. The live set is
// decided at each successful list only: a replica whose own lists fail or lag (a loaded API server)
// keeps its last view rather than taking everyone else for dead. Only a hint for spreading: who
// writes is decided by each destination's own Lease.
import type { Lease } from './lease-election.ts';

export interface MembersOptions {
  identity: string;
  /** Every Lease whose name starts with the member prefix. */
  list: (signal: AbortSignal) => Promise<Lease[]>;
  prefix: string;
  leaseDurationMs: number;
  now?: () => number;
}

export class Members {
  private readonly seen = new Map<string, { json: string; at: number; holder: string; durationMs: number }>();
  private listed = false;
  private current: string[];

  constructor(private readonly o: MembersOptions) {
    this.current = [o.identity];
  }

  /** Whether the other members were listed at least once (before, spreading would take everything). */
  get known(): boolean {
    return this.listed;
  }

  /** Reads the member Leases; returns whether the live set changed. */
  async refresh(signal: AbortSignal): Promise<boolean> {
    const before = this.current.join('\n');
    const leases = (await this.o.list(signal)).filter((l) => l.metadata.name.startsWith(this.o.prefix));
    const now = this.now();
    const names = new Set<string>();
    for (const l of leases) {
      names.add(l.metadata.name);
      const json = JSON.stringify(l.spec);
      const prev = this.seen.get(l.metadata.name);
      if (prev?.json === json) continue;
      this.seen.set(l.metadata.name, { json, at: now, holder: l.spec.holderIdentity ?? '', durationMs: (l.spec.leaseDurationSeconds ?? 0) * 1000 || this.o.leaseDurationMs });
    }
    for (const name of [...this.seen.keys()]) if (!names.has(name)) this.seen.delete(name);
    this.listed = true;
    const out = new Set([this.o.identity]);
    for (const s of this.seen.values()) if (s.holder && s.at + s.durationMs > now) out.add(s.holder);
    this.current = [...out].sort();
    return this.current.join('\n') !== before;
  }

  /** The live identities at the last successful list, this replica's own always among them, sorted. */
  live(): string[] {
    return this.current;
  }

  private now(): number {
    return this.o.now ? this.o.now() : Date.now();
  }
}
