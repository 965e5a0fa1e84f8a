// The Git destinations: one writer per (repo, branch), each with its own bounded queue, recorders
// (one per folder) and consumer, opened and closed as the configuration changes. A destination that cannot be opened
// (wrong credentials, remote down) keeps its queue; while it is open the queue applies back-pressure,
// but a destination that is down never blocks the others: when its queue is full, further items
// are counted as overflow and a full resync of that destination is asked for once it opens — so
// nothing is lost, only the authors of the overflowed changes (recorded by the reconcile).
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { QueueItem } from '../change.ts';
import { Backoff } from '../backoff.ts';
import { KubescribeError } from '../errors.ts';
import type { KubeObject } from '../kube-object.ts';
import { BoundedQueue, itemBytes } from '../queue/index.ts';
import { checkpointPath, Checkpoints, type ClusterIdentity } from '../git/checkpoints.ts';
import { redactUrl } from '../git/git-error.ts';
import { GitWriter, type CommitSigning, type Credentials, type PushResult } from '../git/index.ts';
import { Recorder } from '../git/recorder.ts';

export interface DestinationConfig {
  key: string;
  repoKey: string;
  url: string;
  branch: string;
  pushIntervalMs: number;
  pushMaxCommits: number;
  authorEmailTemplate: string;
  credentials: () => Credentials | undefined;
  /** True while the Secrets it reads (credentials, signing key) are being read for the first time: it opens after (default: never). */
  secretsPending?: () => boolean;
  /** Commit signing now (read at each commit): sign, refuse, or unsigned. */
  signing: () => CommitSigning;
}

/** Where a route records into its destination: a folder, and how Secrets are written there. */
export interface RecordTarget {
  baseFolder: string;
  /** age public keys Secrets are encrypted to (SOPS); empty: redacted by a keyed hash. */
  ageRecipients: readonly string[];
}

export interface DestinationEvents {
  opened?: (d: DestinationConfig) => void;
  openFailed?: (d: DestinationConfig, err: unknown) => void;
  pushed?: (d: DestinationConfig, r: PushResult) => void;
  committed?: (d: DestinationConfig, kind: 'change' | 'reconcile') => void;
  depth?: (d: DestinationConfig, depth: number, bytes: number) => void;
  /** The branch's checkpoints are read: check them (and reject untrusted ones) before anyone replays from them. */
  checkpointsLoaded?: (d: DestinationConfig, checkpoints: Checkpoints) => Promise<void>;
  /** The destination overflowed while down and is open again: resync everything routed to it. */
  needsResync?: (d: DestinationConfig) => void;
  overflow?: (d: DestinationConfig) => void;
  /**
   * The destination stopped and no slot of its key replaced it (removed from the configuration,
   * fenced, or closed): what it reported (queue depth, pending commits) is no longer current.
   */
  closed?: (d: DestinationConfig) => void;
}

export interface DestinationsOptions {
  dataDir: string;
  committer: { name: string; email: string };
  maxPending: number;
  /** And at most this many bytes (queue/item-size.ts). */
  maxPendingBytes: number;
  backoffMs: number;
  maxBackoffMs: number;
  toYaml: (obj: KubeObject) => string;
  logger: Logger;
  events: DestinationEvents;
  /** Several clusters into one repository: this cluster's name (trailer, checkpoint file) and identity. */
  cluster?: { name: string; identity: () => ClusterIdentity | undefined };
}

/** How often a destination waiting for its Secrets looks again (the wait is bounded by their read grace). */
const SECRETS_POLL_MS = 50;

interface Slot {
  config: DestinationConfig;
  /** `item` is cleared once recorded, so the loop waiting for the next one does not keep it. */
  queue: BoundedQueue<{ item?: QueueItem; target: RecordTarget }>;
  writer?: GitWriter;
  checkpoints?: Checkpoints;
  /** Resolves once the writer is open and the checkpoints are read, or an attempt to open failed: no use waiting longer for its checkpoints. */
  settled: Promise<void>;
  markSettled: () => void;
  overflowed: boolean;
  stopped: boolean;
  done: Promise<void>;
}

export class Destinations {
  private readonly slots = new Map<string, Slot>();
  /** Set by fence(): no destination is opened and no change taken afterwards. */
  private fenced = false;
  /** The fence under way: close() waits for it, so that a next term's writers find their folders free. */
  private fencing: Promise<void> | undefined;

  constructor(private readonly o: DestinationsOptions) {}

  /**
   * Opens destinations that are new, closes the ones no longer configured, and reopens those whose
   * URL changed (another local clone). Other settings (push interval and batch, email template,
   * credentials) apply in place. A reopened destination's new slot takes changes at once, before
   * the old one has drained: none is dropped in between.
   */
  async sync(configs: readonly DestinationConfig[]): Promise<void> {
    if (this.fenced) return;
    const wanted = new Map(configs.map((c) => [c.key, c]));
    const stopping: Slot[] = [];
    for (const [key, slot] of this.slots) {
      const next = wanted.get(key);
      if (next && next.url === slot.config.url) {
        slot.config = next; // credentials and the email template are read through the config
        slot.writer?.reconfigure({ pushIntervalMs: next.pushIntervalMs, pushMaxCommits: next.pushMaxCommits });
        continue;
      }
      this.slots.delete(key);
      stopping.push(slot);
      if (next) {
        const fresh = this.startSlot(next);
        // Items queued for a writer that never opened go with the slot: the next one resyncs.
        fresh.overflowed = !slot.writer && (slot.queue.depth > 0 || slot.overflowed);
        this.slots.set(key, fresh);
      }
    }
    for (const [key, config] of wanted) {
      if (this.fenced) return; // fenced meanwhile: open nothing more
      if (!this.slots.has(key)) this.slots.set(key, this.startSlot(config));
    }
    await Promise.all(stopping.map((s) => this.stopSlot(s)));
  }

  async push(key: string, item: QueueItem, target: RecordTarget): Promise<void> {
    if (this.fenced) return;
    const slot = this.slots.get(key);
    if (!slot) return;
    if (!slot.writer && slot.queue.full(itemBytes(item))) {
      if (!slot.overflowed) this.o.logger.warn({ destination: key }, 'destination is down and its queue is full; later changes will be recorded by a resync when it is back');
      slot.overflowed = true;
      this.o.events.overflow?.(slot.config);
      return;
    }
    await slot.queue.push({ item, target });
  }

  /**
   * The checkpoints of a destination's branch (this cluster's file); waits up to `ms` for the branch
   * to open while it is opening (a large clone takes a while), not once an attempt failed.
   */
  async checkpoints(key: string, ms: number): Promise<Checkpoints | undefined> {
    const slot = this.slots.get(key);
    if (!slot) return undefined;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([slot.settled, new Promise<void>((r) => { timer = setTimeout(r, ms); })]);
    clearTimeout(timer);
    return slot.checkpoints;
  }

  writer(key: string): GitWriter | undefined {
    return this.slots.get(key)?.writer;
  }

  keys(): string[] {
    return [...this.slots.keys()];
  }

  pending(key: string): number {
    return this.slots.get(key)?.writer?.pending() ?? 0;
  }

  /**
   * Leadership lost: every writer stops at once — no commit, no push (one under way is cut) — and
   * drops its unpushed commits (GitWriter.fence). The synchronous part happens before this returns.
   */
  fence(): Promise<void> {
    this.fenced = true;
    const slots = [...this.slots.values()];
    this.slots.clear();
    for (const slot of slots) {
      slot.stopped = true;
      slot.queue.close();
      void slot.writer?.fence();
    }
    this.fencing = Promise.all(slots.map(async (slot) => {
      await slot.done.catch(() => undefined);
      await slot.writer?.fence().catch(() => undefined); // also a writer that opened meanwhile
      this.o.events.closed?.(slot.config);
    })).then(() => undefined);
    return this.fencing;
  }

  /** Closes every destination (their last commits and push); after a fence, waits for it to end. */
  async close(): Promise<void> {
    const slots = [...this.slots.values()];
    this.slots.clear();
    await Promise.all(slots.map((s) => this.stopSlot(s)));
    // Leadership lost and taken again at once: the next term opens the same folders, which a
    // writer still being fenced holds ("already used by another open writer", a failed open).
    await this.fencing;
  }

  private async stopSlot(slot: Slot): Promise<void> {
    slot.stopped = true;
    slot.queue.close();
    await slot.done.catch(() => undefined);
    await slot.writer?.close().catch(() => undefined);
    if (!this.slots.has(slot.config.key)) this.o.events.closed?.(slot.config);
  }

  private startSlot(config: DestinationConfig): Slot {
    let markSettled: () => void = () => undefined;
    const settled = new Promise<void>((r) => { markSettled = r; });
    const slot: Slot = {
      config,
      queue: new BoundedQueue(this.o.maxPending, (d, b) => this.o.events.depth?.(slot.config, d, b), { maxBytes: this.o.maxPendingBytes, sizeOf: (e) => (e.item ? itemBytes(e.item) : 0) }),
      settled,
      markSettled,
      overflowed: false,
      stopped: false,
      done: Promise.resolve(),
    };
    slot.done = this.run(slot);
    return slot;
  }

  private async sleep(ms: number, slot: Slot): Promise<void> {
    const until = Date.now() + ms;
    while (!slot.stopped && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
  }

  /** A destination's life: open (retrying), announce, then record what its queue brings, in order. */
  private async run(slot: Slot): Promise<void> {
    const log = this.o.logger.child({ destination: slot.config.key, remote: redactUrl(slot.config.url), branch: slot.config.branch });
    const writer = await this.open(slot, log);
    if (!writer || slot.stopped) return;
    writer.onPush((r) => this.o.events.pushed?.(slot.config, r));
    const checkpoints = await Checkpoints.load((p) => writer.readFile(p), checkpointPath(this.o.cluster?.name ?? ''), () => this.o.cluster?.identity());
    await this.o.events.checkpointsLoaded?.(slot.config, checkpoints).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not check the checkpoints'));
    slot.checkpoints = checkpoints;
    slot.markSettled();
    this.o.events.opened?.(slot.config);
    if (slot.overflowed) {
      slot.overflowed = false;
      this.o.events.needsResync?.(slot.config);
    }
    await this.consume(slot, writer, checkpoints, log);
  }

  /** Opens the local clone, retrying with backoff until it opens or the destination stops. */
  private async open(slot: Slot, log: Logger): Promise<GitWriter | undefined> {
    const backoff = new Backoff({ baseMs: this.o.backoffMs, capMs: this.o.maxBackoffMs });
    // Without its credentials the first attempt would fail, and a failed attempt ends the start-up
    // list's wait for the checkpoints (the changes made while down then fold into a reconcile);
    // without its signing key every commit would be refused and retried.
    while (!slot.stopped && slot.config.secretsPending?.()) await this.sleep(SECRETS_POLL_MS, slot);
    while (!slot.stopped && !slot.writer) {
      try {
        slot.writer = await GitWriter.open({
          dir: destinationDir(this.o.dataDir, slot.config),
          url: slot.config.url,
          branch: slot.config.branch,
          credentials: () => slot.config.credentials(),
          signing: () => slot.config.signing(),
          committer: this.o.committer,
          pushIntervalMs: slot.config.pushIntervalMs,
          pushMaxCommits: slot.config.pushMaxCommits,
          logger: log,
        });
      } catch (err) {
        slot.markSettled();
        this.o.events.openFailed?.(slot.config, err);
        const wait = backoff.next();
        log.error({ code: (err as KubescribeError).code, err: (err as Error).message, retryInMs: wait }, 'cannot open the Git repository; retrying');
        await this.sleep(wait, slot);
      }
    }
    return slot.writer;
  }

  /** Records each queued item through the recorder of its folder; a failed write is retried, a terminal one skipped. */
  private async consume(slot: Slot, writer: GitWriter, checkpoints: Checkpoints, log: Logger): Promise<void> {
    const recorders = new Map<string, Recorder>();
    const recorderFor = ({ baseFolder, ageRecipients }: RecordTarget): Recorder => {
      // Keyed by the email template too: a GitRepoConfig edit changes it without a reopen.
      const recorderKey = `${baseFolder}|${ageRecipients.join(',')}|${slot.config.authorEmailTemplate}`;
      let r = recorders.get(recorderKey);
      if (!r) {
        r = new Recorder({
          writer, baseFolder, ageRecipients, toYaml: this.o.toYaml, logger: log, cluster: this.o.cluster?.name || undefined,
          authorEmailTemplate: slot.config.authorEmailTemplate,
          checkpoints,
          onCommit: (kind) => this.o.events.committed?.(slot.config, kind),
        });
        recorders.set(recorderKey, r);
      }
      return r;
    };
    for await (const entry of slot.queue.drain()) {
      const retry = new Backoff({ baseMs: this.o.backoffMs, capMs: this.o.maxBackoffMs });
      for (;;) {
        try {
          await recorderFor(entry.target).record(entry.item as QueueItem);
          break;
        } catch (err) {
          if (err instanceof KubescribeError && err.terminal) {
            log.error({ code: err.code, err: err.message }, 'change cannot be recorded; skipped');
            break;
          }
          if (slot.stopped) return;
          const wait = retry.next();
          log.error({ err: (err as Error).message, retryInMs: wait }, 'writing a commit failed; retrying');
          await this.sleep(wait, slot);
        }
      }
      entry.item = undefined;
    }
  }
}

/** The writer's local clone of a destination under the data dir. */
export function destinationDir(dataDir: string, d: { repoKey: string; url: string; branch: string }): string {
  return join(dataDir, 'repos', dirName(d.repoKey), dirName(redactUrl(d.url)), dirName(d.branch));
}

function dirName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120) || '_';
}
