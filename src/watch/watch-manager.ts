// Runs one list+watch per resource type that some rule needs, started and stopped as the rules
// change, each with its own change detector, cluster-wide or in the one namespace its rules are
// bound to (a changed scope restarts it from where the old watch got to). Hands changes and full
// snapshots (first list, periodic resync, requested relist) to a sink that routes them; the sink
// is awaited, so a full queue slows reading instead of dropping anything.
import type { Logger } from 'pino';
import type { Change } from '../change.ts';
import { attributeCause, newestManager, resolveAuthor, type Author, type ManagedFieldsEntry } from '../correlation/index.ts';
import { typeKey, type KubeObject, type ResourceType } from '../kube-object.ts';
import { ChangeDetector, type CorrelationLookup, type Prepare } from './change-detector.ts';
import type { KubeApi } from './kube-api.ts';
import { ListWatchControl, runListWatch } from './list-watch.ts';

export interface WatchSink {
  changes(type: ResourceType, changes: Change[]): Promise<void>;
  /**
   * Every object of the type at `resourceVersion`, sanitized; `reason` says why (start-up,
   * periodic resync, ...); `only`: the consumers that asked for this relist (undefined: all).
   */
  snapshot(type: ResourceType, objects: KubeObject[], reason: string, resourceVersion: string, only?: ReadonlySet<string>): Promise<void>;
}

export interface WatchManagerOptions {
  api: KubeApi;
  prepare: Prepare;
  correlations: CorrelationLookup;
  sink: WatchSink;
  logger: Logger;
  backoffMs: number;
  maxBackoffMs: number;
  resyncIntervalMs: number;
  onLookup?: (hit: boolean) => void;
  /**
   * Whether any consumer records this change. The watch of a type is often cluster-wide, so it
   * also sees changes that no rule covers (other namespaces, other operations): those are not
   * looked up, waited for, or counted as enrichment misses (their webhook calls were never asked
   * for).
   */
  recordable?: (type: ResourceType, change: Change) => boolean;
  /** On a miss, wait this long (from when the event was seen) for a correlation still on its way from a peer. */
  missWaitMs?: number;
  waitFor?: (keys: readonly string[], ms: number) => Promise<Author[] | undefined>;
  onEvent?: (type: ResourceType, event: string) => void;
  onError?: (type: ResourceType, err: unknown) => void;
  /** A type listed (again) after errors: its watch works. */
  onSynced?: (type: ResourceType) => void;
  onSize?: (type: ResourceType, size: number) => void;
  /** The checkpoint to replay a type from (see list-watch startFrom). */
  startFrom?: (type: ResourceType) => Promise<string | undefined>;
}

interface Running { type: ResourceType; namespace?: string; abort: AbortController; control: ListWatchControl; synced: boolean; done: Promise<void>; reason: string; only?: Set<string> }

export class WatchManager {
  private readonly running = new Map<string, Running>();

  constructor(private readonly o: WatchManagerOptions) {}

  /**
   * Starts watches for new types and stops those no longer needed; returns the keys started.
   * `namespaceOf`: the one namespace a type is watched in (undefined: cluster-wide). A type whose
   * namespace changed is watched anew from the resourceVersion the old watch had handed on: its
   * list at that version is a no-op for the folders that hold it and the first state of the others,
   * and what changed since is replayed as events, with their authors.
   */
  setTypes(types: readonly ResourceType[], namespaceOf: (type: ResourceType) => string | undefined = () => undefined): string[] {
    const wanted = new Map(types.map((t) => [typeKey(t), { type: t, namespace: namespaceOf(t) }]));
    const handOver = new Map<string, Promise<string | undefined>>();
    for (const [key, r] of this.running) {
      const w = wanted.get(key);
      if (w && w.type.version === r.type.version && w.namespace === r.namespace) continue;
      r.abort.abort();
      this.running.delete(key);
      if (w && w.type.version === r.type.version) {
        handOver.set(key, r.done.then(() => r.control.handled));
        this.o.logger.info({ resource: key, from: r.namespace ?? 'all namespaces', to: w.namespace ?? 'all namespaces' }, 'watching in other namespaces');
      } else {
        this.o.logger.info({ resource: key }, 'stopped watching');
      }
    }
    const started: string[] = [];
    for (const [key, w] of wanted) {
      if (this.running.has(key)) continue;
      this.running.set(key, this.start(w.type, w.namespace, handOver.get(key)));
      started.push(key);
    }
    return started;
  }

  /**
   * Asks for a relist of these types, e.g. because a rule now covers them; the snapshot is meant
   * for `forKeys` only (the consumers that need it), the others already hold the state.
   */
  relist(keys: Iterable<string>, reason: string, forKeys: Iterable<string>): void {
    for (const key of keys) {
      const r = this.running.get(key);
      if (!r) continue;
      r.reason = reason;
      r.only ??= new Set();
      for (const k of forKeys) r.only.add(k);
      r.control.relist();
    }
  }

  types(): ResourceType[] {
    return [...this.running.values()].map((r) => r.type);
  }

  synced(): boolean {
    return [...this.running.values()].every((r) => r.synced);
  }

  async stop(): Promise<void> {
    for (const r of this.running.values()) r.abort.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    this.running.clear();
  }

  private start(type: ResourceType, namespace: string | undefined, handOver?: Promise<string | undefined>): Running {
    const o = this.o;
    const detector = new ChangeDetector(type, o.prepare, o.correlations);
    // Misses wait (bounded, from the time the event was seen) for correlations pushed by a peer.
    // The end of a held deletion takes its author from the request, once that one is enriched.
    const enriching = new WeakMap<Change, Promise<void>>();
    const enrichOne = async (c: Change): Promise<void> => {
      if (c.requestedBy) {
        await enriching.get(c.requestedBy);
        c.author = c.requestedBy.author;
        c.candidates = c.requestedBy.candidates;
        if (c.requestedBy.cause) c.cause = c.requestedBy.cause;
        return;
      }
      if (o.recordable && !o.recordable(type, c)) return;
      if (!c.author && !c.candidates && o.waitFor && o.missWaitMs && c.correlationKeys) {
        Object.assign(c, resolveAuthor(await o.waitFor(c.correlationKeys, c.observedAt.getTime() + o.missWaitMs - Date.now()), c.manager));
      }
      o.onLookup?.(c.author !== undefined || c.candidates !== undefined);
      // A controller's deletion: the user deletion behind it (correlation/cause.ts).
      attributeCause(o.correlations, c);
    };
    const enrich = async (changes: Change[]): Promise<Change[]> => {
      await Promise.all(changes.map((c) => {
        const p = enrichOne(c);
        enriching.set(c, p);
        return p;
      }));
      return changes;
    };
    // Waits overlap (each change's lookup starts at once) but changes reach the sink in order;
    // a bounded window keeps the back-pressure of the sink.
    let tail: Promise<void> = Promise.resolve();
    let inFlight = 0;
    const emit = async (changes: Change[]): Promise<void> => {
      const enriched = enrich(changes);
      inFlight++;
      tail = tail.then(async () => {
        try {
          await o.sink.changes(type, await enriched);
        } catch (err) {
          o.logger.error({ err: (err as Error).message, resource: typeKey(type) }, 'could not hand changes on');
        } finally {
          inFlight--;
        }
      });
      if (inFlight >= 256) await tail;
    };
    const abort = new AbortController();
    const control = new ListWatchControl();
    const r: Running = { type, ...(namespace ? { namespace } : {}), abort, control, synced: false, reason: 'start-up', done: Promise.resolve() };
    const startFrom = o.startFrom;
    const checkpoint = startFrom ? () => startFrom(type) : undefined;
    const done = runListWatch({
      api: o.api, type, ...(namespace ? { namespace } : {}), signal: abort.signal, logger: o.logger, control,
      // After the old watch's last change reached the sink, so the new snapshot comes after it.
      startFrom: handOver ? async () => (await handOver) ?? await checkpoint?.() : checkpoint,
      backoffMs: o.backoffMs, maxBackoffMs: o.maxBackoffMs, resyncIntervalMs: o.resyncIntervalMs,
      onSynced: () => { r.synced = true; o.onSynced?.(type); },
      onError: (err) => o.onError?.(type, err),
      handler: {
        // Every listed object is sanitized and hashed once, as its page arrives, for the detector
        // and the snapshot alike; of the raw object only what the detector reads is kept.
        prepareListed: (obj: KubeObject) => ({ obj: listedIdentity(obj), prepared: o.prepare(obj) }),
        onList: async (items, listRv, relist) => {
          const reason = relist ? (r.reason === 'start-up' ? 'periodic resync' : r.reason) : 'start-up';
          // A requested relist is for those who asked; a periodic one (or the first list) for all.
          const only = relist && reason !== 'periodic resync' ? r.only : undefined;
          r.reason = 'periodic resync';
          r.only = undefined;
          const prepared = items;
          if (relist) {
            // Changes missed meanwhile go through correlation first (their authors may still match).
            await emit(detector.relist(prepared));
            await tail; // the snapshot comes after the changes it follows
          } else {
            detector.seed(prepared);
          }
          await o.sink.snapshot(type, prepared.map((p) => p.prepared.sanitized), reason, listRv, only);
          o.onSize?.(type, detector.size);
        },
        onEvent: async (ev) => {
          o.onEvent?.(type, ev.type);
          const changes = detector.observe(ev.type, ev.object);
          if (changes.length > 0) await emit(changes);
          o.onSize?.(type, detector.size);
        },
      },
    });
    r.done = done.then(() => tail);
    return r;
  }
}

/**
 * What the change detector reads of a listed object: its identity, whether it is terminating, the
 * newest managedFields entry (to tell candidate authors apart) and replicas for the scale key.
 */
function listedIdentity(obj: KubeObject): KubeObject {
  const m = (obj.metadata ?? {}) as NonNullable<KubeObject['metadata']> & { deletionTimestamp?: string; managedFields?: ManagedFieldsEntry[] };
  const replicas = (obj.spec as { replicas?: unknown } | undefined)?.replicas;
  const manager = newestManager(m.managedFields);
  return {
    apiVersion: obj.apiVersion, kind: obj.kind,
    metadata: {
      namespace: m.namespace, name: m.name, uid: m.uid, resourceVersion: m.resourceVersion,
      ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
      ...(manager ? { managedFields: [{ manager }] } : {}),
    },
    ...(typeof replicas === 'number' ? { spec: { replicas } } : {}),
  };
}
