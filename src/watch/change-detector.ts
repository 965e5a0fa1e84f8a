// Turns list/watch observations of one resource type into changes: keeps per object only its
// uid, resourceVersion and the hash of its last sanitized content (not the whole object), drops
// no-op and status-only updates (same hash: only the resourceVersion moves on), and looks up the
// author in the correlation store with the same key the webhook recorded under.
// Deletions held by finalizers or a grace period come in two steps: the watch sees the
// deletionTimestamp appear (the DELETE request, keyed by the version before it: that is what the
// webhook saw as oldObject) and later the object go; the requester is the author of both, and
// whoever released the last finalizer (an UPDATE keyed by the version before the DELETED event)
// is named beside them. A relist emits what it found in resourceVersion order.
import { changeKeyParts, correlationKey, correlationKeyPrefix, newestManager, resolveAuthor, scaleContent, type Author, type ManagedFieldsEntry, type Operation } from '../correlation/index.ts';
import type { Change } from '../change.ts';
import { compareRv, type KubeObject, type ResourceType } from '../kube-object.ts';

export interface Prepared { sanitized: KubeObject; hash: string }
export type Prepare = (obj: KubeObject) => Prepared;

interface ObjectState {
  uid: string;
  rv: string;
  hash: string;
  /** Set once the object carries a deletionTimestamp; the change that recorded the request, if seen. */
  deleting?: { request?: Change };
}

export interface CorrelationLookup {
  take(key: string): Author[] | undefined;
  takeStartingWith(prefix: string): Author[] | undefined;
  /** For causes (correlation/cause.ts): read without consuming, and pass one on. */
  peek(key: string): Author[] | undefined;
  record(key: string, author: Author): void;
}

type Metadata = NonNullable<KubeObject['metadata']> & { deletionTimestamp?: string; managedFields?: ManagedFieldsEntry[]; ownerReferences?: Array<{ uid?: string }> };

const meta = (obj: KubeObject): Metadata => (obj.metadata ?? {}) as Metadata;

export class ChangeDetector {
  private readonly states = new Map<string, ObjectState>();

  constructor(
    private readonly type: ResourceType,
    private readonly prepare: Prepare,
    private readonly correlations: CorrelationLookup,
  ) {}

  get size(): number {
    return this.states.size;
  }

  /** Remember objects as they are without producing changes (after the initial reconcile). */
  seed(items: Array<{ obj: KubeObject; prepared: Prepared }>): void {
    this.states.clear();
    for (const { obj, prepared } of items) {
      const m = meta(obj);
      this.states.set(stateKey(m.namespace, m.name), { uid: m.uid ?? '', rv: m.resourceVersion ?? '', hash: prepared.hash, ...(m.deletionTimestamp ? { deleting: {} } : {}) });
    }
  }

  /** One watch event → at most two changes (a missed delete before a re-create under the same name). */
  observe(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject, given?: Prepared): Change[] {
    const m = meta(obj);
    const key = stateKey(m.namespace, m.name);
    const prev = this.states.get(key);
    const rv = m.resourceVersion ?? '';
    const uid = m.uid ?? '';
    if (type === 'DELETED') {
      if (!prev) return [];
      this.states.delete(key);
      return [this.deleted(obj, prev, given ?? this.prepare(obj), rv)];
    }
    const prepared = given ?? this.prepare(obj);
    const next: ObjectState = { uid, rv, hash: prepared.hash };
    this.states.set(key, next);
    if (prev && prev.uid !== uid) {
      // Deleted and re-created while we were not watching: record both. The deletion's own
      // version is unknown (somewhere before rv): it must not hold the re-creation back.
      const gone = this.change('DELETE', obj, prepared.sanitized, prev.hash, prev.rv, prev.rv, prev.uid);
      gone.advancesCheckpoint = false;
      return [gone, this.withDeletion(next, m, this.change('CREATE', obj, prepared.sanitized, prepared.hash, '', rv, uid))];
    }
    if (!prev) return [this.withDeletion(next, m, this.change('CREATE', obj, prepared.sanitized, prepared.hash, '', rv, uid))];
    if (prev.deleting) {
      next.deleting = prev.deleting;
      if (prev.hash === prepared.hash) return [];
      return [this.change('UPDATE', obj, prepared.sanitized, prepared.hash, prev.rv, rv, uid)];
    }
    if (m.deletionTimestamp) {
      // The deletion was asked for: the webhook keyed that DELETE by the version before (oldObject).
      const request = this.change('DELETE', obj, prepared.sanitized, prev.hash, prev.rv, rv, uid);
      request.deletion = 'requested';
      next.deleting = { request };
      return [request];
    }
    if (prev.hash === prepared.hash) return []; // no-op or status-only
    return [this.change('UPDATE', obj, prepared.sanitized, prepared.hash, prev.rv, rv, uid)];
  }

  /** A relist after 410 or a resync: diff the full list (prepared once, as for seed) against what we knew. */
  relist(items: Array<{ obj: KubeObject; prepared: Prepared }>): Change[] {
    const seen = new Set<string>();
    const listed: Array<{ at: string; changes: Change[] }> = [];
    for (const { obj, prepared } of items) {
      seen.add(stateKey(obj.metadata?.namespace, obj.metadata?.name));
      const changes = this.observe('MODIFIED', obj, prepared);
      if (changes.length > 0) listed.push({ at: obj.metadata?.resourceVersion ?? '', changes });
    }
    // In the order they happened, as far as the list tells: by the listed object's resourceVersion
    // (a delete and re-create pair stays together, in its order).
    listed.sort((a, b) => compareRv(a.at, b.at) ?? 0);
    const found = listed.flatMap((l) => l.changes);
    // Deletions last: when they happened is not known, only that they did before the list.
    for (const [key, prev] of [...this.states]) {
      if (seen.has(key)) continue;
      const [namespace, name] = splitKey(key);
      const gone: KubeObject = { metadata: { namespace: namespace || undefined, name, uid: prev.uid, resourceVersion: prev.rv } };
      this.states.delete(key);
      const c = prev.deleting ? this.deleted(gone, prev, { sanitized: gone, hash: prev.hash }, prev.rv) : this.change('DELETE', gone, gone, prev.hash, prev.rv, prev.rv, prev.uid);
      c.advancesCheckpoint = false;
      found.push(c);
    }
    return found;
  }

  /** The object is gone: an immediate deletion, or the end of one requested earlier. */
  private deleted(obj: KubeObject, prev: ObjectState, final: Prepared, rv: string): Change {
    if (!prev.deleting) {
      // The webhook hashed oldObject: the content of the last version we saw (prev.hash).
      return this.change('DELETE', obj, final.sanitized, prev.hash, prev.rv, rv, prev.uid);
    }
    const c = this.change('DELETE', obj, final.sanitized, prev.hash, prev.rv, rv, prev.uid, false);
    c.deletion = 'completed';
    c.requestedBy = prev.deleting.request;
    c.author = prev.deleting.request?.author;
    c.candidates = prev.deleting.request?.candidates;
    // The last finalizer was released by an update of the version we saw last; the apiserver
    // deletes instead of writing it, so the DELETED event shows the version before, not its content.
    const leaving = changeKeyParts({ operation: 'UPDATE', resource: this.type, metadata: obj.metadata, uid: prev.uid, oldResourceVersion: prev.rv });
    c.releasedBy = resolveAuthor(this.correlations.takeStartingWith(correlationKeyPrefix(leaving))).author;
    return c;
  }

  /** An object first seen already terminating (created with a finalizer and deleted before we looked). */
  private withDeletion(state: ObjectState, m: Metadata, c: Change): Change {
    if (m.deletionTimestamp) state.deleting = {};
    return c;
  }

  private change(operation: Operation, obj: KubeObject, sanitized: KubeObject, hash: string, oldRv: string, rv: string, uid: string, lookup = true): Change {
    const m = meta(obj);
    const namespace = m.namespace ?? '';
    const name = m.name ?? '';
    const key = { ...changeKeyParts({ operation, resource: this.type, metadata: m, uid, oldResourceVersion: oldRv }), contentHash: hash };
    const keys = [correlationKey(key)];
    const replicas = (obj.spec as { replicas?: unknown } | undefined)?.replicas;
    if (operation === 'UPDATE' && typeof replicas === 'number') keys.push(correlationKey({ ...key, contentHash: scaleContent(replicas) }));
    const manager = operation === 'DELETE' ? undefined : newestManager(m.managedFields);
    const c: Change = { kind: 'change', type: this.type, operation, namespace, name, uid, resourceVersion: rv, object: sanitized, observedAt: new Date(), ...(manager ? { manager } : {}) };
    const owners = operation === 'DELETE' ? (m.ownerReferences ?? []).map((o) => o.uid).filter((u): u is string => typeof u === 'string' && u !== '') : [];
    if (owners.length > 0) c.ownerUids = owners;
    if (!lookup) return c;
    c.correlationKeys = keys;
    for (const k of keys) {
      const requests = this.correlations.take(k);
      if (requests) return Object.assign(c, resolveAuthor(requests, manager));
    }
    return c;
  }
}

/**
 * `namespace/name`, one flat string: a template literal of 13 characters or more is a chain of
 * two concatenation cells over its parts (64 bytes besides the name, kept as long as the object is
 * watched: 6 MiB at 100,000 objects); Array.prototype.join copies into one string.
 */
function stateKey(namespace: string | undefined, name: string | undefined): string {
  return [namespace ?? '', name ?? ''].join('/');
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}
