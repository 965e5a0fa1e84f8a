// Destinations shared among replicas (leaderElection.perDestination): each (repo, branch) has a
// Lease of its own, and a replica writes a destination only while it holds that Lease — the same
// client-go semantics, fencing and handover as the single leader (lease-election.ts), once per
// destination. A replica contends only for the destinations (bounded) rendezvous hashing gives it
// among the live members (rendezvous.ts, members.ts); one it holds that another live replica should write it
// hands over: it stops writing (the last push included) while still holding the Lease, then
// releases it, and the other takes it at once and replays from the branch's checkpoints. Decisions
// depend on membership only, so nothing flaps; a replica that dies stops renewing its member Lease
// and its destinations' Leases, and both expire after leaseDuration: the survivors take them over.
import type { Logger } from 'pino';

/** What holds one destination's Lease (a LeaseElection). */
export interface Election {
  start(): void;
  /** Stops; when leading, fences (onStoppedLeading) and then releases the Lease. */
  stop(): Promise<void>;
}

export interface ElectionHandlers {
  onStartedLeading: () => void;
  /** Synchronous: the writer must be fenced before this returns. */
  onStoppedLeading: (reason: string) => void;
}

/** The writing of one destination, started when its Lease is won. */
export interface ShardWriter {
  /** Stops (the last push included): the handover while the Lease is still held. */
  stop(): Promise<void>;
  /** The Lease is lost: nothing is committed or pushed after the synchronous part. */
  fence(): Promise<void>;
}

export interface ShardsOptions<W extends ShardWriter> {
  identity: string;
  /** The live members' identities (this one included). */
  members: () => readonly string[];
  /** Who should write each destination (rendezvous.ts assign). */
  assign: (destinations: readonly string[], members: readonly string[]) => Map<string, string>;
  election: (destination: string, handlers: ElectionHandlers) => Election;
  start: (destination: string) => Promise<W>;
  logger: Logger;
  /** The set of destinations this replica writes changed. */
  changed?: () => void;
}

class Shard<W extends ShardWriter> {
  writer: W | undefined;
  private leadingNow = false;
  private transition: Promise<void> = Promise.resolve();
  private readonly election: Election;

  constructor(private readonly destination: string, private readonly o: ShardsOptions<W>) {
    this.election = o.election(destination, {
      onStartedLeading: () => this.lead(true),
      onStoppedLeading: () => {
        void this.writer?.fence().catch((err: unknown) => o.logger.error({ err, destination }, 'fencing the writer failed'));
        this.lead(false);
      },
    });
    this.election.start();
  }

  private lead(leading: boolean): void {
    this.leadingNow = leading;
    this.transition = this.transition.then(async () => {
      if (leading && !this.writer) {
        const started = await this.o.start(this.destination);
        this.writer = started;
        this.o.changed?.();
        if (!this.leadingNow) void started.fence(); // lost while starting: the stop below follows
      } else if (!leading && this.writer) {
        const w = this.writer;
        this.writer = undefined;
        this.o.changed?.();
        await w.stop();
      }
    }).catch((err: unknown) => this.o.logger.error({ err, destination: this.destination }, 'destination leadership transition failed'));
  }

  /** Stops writing while the Lease is still held, then releases it. */
  async handOver(): Promise<void> {
    this.lead(false);
    await this.transition;
    await this.election.stop();
  }
}

export class Shards<W extends ShardWriter> {
  private destinations: readonly string[] = [];
  private readonly shards = new Map<string, Shard<W>>();
  /** Destinations being handed over: contended for again only once released. */
  private readonly leaving = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly o: ShardsOptions<W>) {}

  /** The destinations the configuration has now. */
  setDestinations(keys: readonly string[]): void {
    this.destinations = [...new Set(keys)].sort();
    this.rebalance();
  }

  /** Contends for the destinations this replica should write, hands over the others. */
  rebalance(): void {
    if (this.stopped) return;
    const members = this.o.members();
    const owners = this.o.assign(this.destinations, members);
    const wanted = new Set(this.destinations.filter((d) => owners.get(d) === this.o.identity));
    for (const d of wanted) {
      if (!this.shards.has(d) && !this.leaving.has(d)) this.shards.set(d, new Shard(d, this.o));
    }
    for (const [d, shard] of this.shards) {
      if (wanted.has(d)) continue;
      this.shards.delete(d);
      this.o.logger.info({ destination: d, to: owners.get(d) }, 'handing the destination over');
      this.leaving.set(d, shard.handOver().finally(() => {
        this.leaving.delete(d);
        this.rebalance();
      }));
    }
  }

  /** The destinations whose Lease this replica holds and whose writer runs, with the writers. */
  held(): Map<string, W> {
    const out = new Map<string, W>();
    for (const [d, s] of this.shards) if (s.writer) out.set(d, s.writer);
    return out;
  }

  /** Hands every destination over (stop, last push, release). */
  async stop(): Promise<void> {
    this.stopped = true;
    const shards = [...this.shards.values()];
    this.shards.clear();
    await Promise.all([...shards.map((s) => s.handOver()), ...this.leaving.values()]);
  }
}
