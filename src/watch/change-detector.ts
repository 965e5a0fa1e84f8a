// Turns list/watch observations of one resource type into changes: keeps per object only its
// uid, resourceVersion and the hash of its last sanitized content (not the whole object), drops
// no-op and status-only updates (same hash: only the resourceVersion moves on), and looks up the
// author in the correlation store with the same key the webhook recorded under.
import { correlationKey, scaleContent, type Author, type Operation } from '../correlation/index.ts';
import type { Change } from '../change.ts';
import type { KubeObject, ResourceType } from '../kube-object.ts';

export interface Prepared { sanitized: KubeObject; hash: string }
export type Prepare = (obj: KubeObject) => Prepared;

interface ObjectState { uid: string; rv: string; hash: string }

export interface CorrelationLookup {
  take(key: string): Author | undefined;
}

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
      const m = obj.metadata ?? {};
      this.states.set(stateKey(m.namespace, m.name), { uid: m.uid ?? '', rv: m.resourceVersion ?? '', hash: prepared.hash });
    }
  }

  /** One watch event → at most two changes (a missed delete before a re-create under the same name). */
  observe(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject, given?: Prepared): Change[] {
    const m = obj.metadata ?? {};
    const key = stateKey(m.namespace, m.name);
    const prev = this.states.get(key);
    const rv = m.resourceVersion ?? '';
    const uid = m.uid ?? '';
    if (type === 'DELETED') {
      if (!prev) return [];
      this.states.delete(key);
      // The webhook hashed oldObject: the content of the last version we saw (prev.hash).
      return [this.change('DELETE', obj, this.prepare(obj).sanitized, prev.hash, prev.rv, rv, uid)];
    }
    const prepared = given ?? this.prepare(obj);
    this.states.set(key, { uid, rv, hash: prepared.hash });
    if (prev && prev.uid !== uid) {
      // Deleted and re-created while we were not watching: record both.
      return [
        this.change('DELETE', obj, prepared.sanitized, prev.hash, prev.rv, rv, prev.uid),
        this.change('CREATE', obj, prepared.sanitized, prepared.hash, '', rv, uid),
      ];
    }
    if (!prev) return [this.change('CREATE', obj, prepared.sanitized, prepared.hash, '', rv, uid)];
    if (prev.hash === prepared.hash) return []; // no-op or status-only
    return [this.change('UPDATE', obj, prepared.sanitized, prepared.hash, prev.rv, rv, uid)];
  }

  /** A relist after 410 or a resync: diff the full list (prepared once, as for seed) against what we knew. */
  relist(items: Array<{ obj: KubeObject; prepared: Prepared }>): Change[] {
    const seen = new Set<string>();
    const out: Change[] = [];
    for (const { obj, prepared } of items) {
      seen.add(stateKey(obj.metadata?.namespace, obj.metadata?.name));
      out.push(...this.observe('MODIFIED', obj, prepared));
    }
    for (const [key, prev] of [...this.states]) {
      if (seen.has(key)) continue;
      const [namespace, name] = splitKey(key);
      const gone: KubeObject = { metadata: { namespace: namespace || undefined, name, uid: prev.uid, resourceVersion: prev.rv } };
      this.states.delete(key);
      out.push(this.change('DELETE', gone, gone, prev.hash, prev.rv, prev.rv, prev.uid));
    }
    return out;
  }

  private change(operation: Operation, obj: KubeObject, sanitized: KubeObject, hash: string, oldRv: string, rv: string, uid: string): Change {
    const m = obj.metadata ?? {};
    const namespace = m.namespace ?? '';
    const name = m.name ?? '';
    const key = { operation, group: this.type.group, resource: this.type.resource, namespace, name, uid, oldResourceVersion: oldRv, contentHash: hash };
    const keys = [correlationKey(key)];
    const replicas = (obj.spec as { replicas?: unknown } | undefined)?.replicas;
    if (operation === 'UPDATE' && typeof replicas === 'number') keys.push(correlationKey({ ...key, contentHash: scaleContent(replicas) }));
    let author: Author | undefined;
    for (const k of keys) if (!author) author = this.correlations.take(k);
    return { kind: 'change', type: this.type, operation, namespace, name, uid, resourceVersion: rv, object: sanitized, author, observedAt: new Date(), correlationKeys: keys };
  }
}

function stateKey(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? ''}/${name ?? ''}`;
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}
