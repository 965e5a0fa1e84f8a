// Writes .status of kubescribe's custom resources: conditions (Ready, Reconciling, Stalled) with
// reasons and messages, observedGeneration, and extra fields (lastCommitSHA, lastPushTime, ...).
// Invoked by callbacks registered with the Git writers and the rule controller; knows nothing of
// them. Unchanged statuses are not written again; a condition keeps its lastTransitionTime until
// its status changes.
import type { Logger } from 'pino';

export interface StatusTarget { group: string; version: string; plural: string; namespace: string; name: string; generation: number }

export interface Condition { type: 'Ready' | 'Reconciling' | 'Stalled'; status: 'True' | 'False' | 'Unknown'; reason: string; message: string }

export type PatchStatus = (path: string, body: unknown) => Promise<void>;

interface Written { conditions: Array<Condition & { lastTransitionTime: string; observedGeneration: number }>; extra: Record<string, unknown>; json: string }

export class StatusWriter {
  private readonly last = new Map<string, Written>();
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly patch: PatchStatus, private readonly logger: Logger) {}

  /** Sets conditions (others are kept) and merges extra fields; resolves once written. */
  set(t: StatusTarget, conditions: Condition[], extra: Record<string, unknown> = {}): Promise<void> {
    const key = pathOf(t);
    const prev = this.last.get(key);
    const now = new Date().toISOString();
    const merged = new Map((prev?.conditions ?? []).map((c) => [c.type, c]));
    for (const c of conditions) {
      const old = merged.get(c.type);
      merged.set(c.type, { ...c, observedGeneration: t.generation, lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : now });
    }
    const next: Written = { conditions: [...merged.values()], extra: { ...prev?.extra, ...extra }, json: '' };
    next.json = JSON.stringify({ c: next.conditions.map(({ lastTransitionTime: _t, ...c }) => c), e: next.extra, g: t.generation });
    if (prev && prev.json === next.json) return this.chains.get(key) ?? Promise.resolve();
    this.last.set(key, next);
    const body = { status: { observedGeneration: t.generation, conditions: next.conditions, ...next.extra } };
    // One write at a time per object, in order.
    const p = (this.chains.get(key) ?? Promise.resolve()).then(() => this.patch(`${key}/status`, body)).catch((err: unknown) => {
      this.last.delete(key); // try again next time
      this.logger.warn({ object: key, err: (err as Error).message }, 'could not write status');
    });
    this.chains.set(key, p);
    return p;
  }

  forget(t: Omit<StatusTarget, 'generation'>): void {
    this.last.delete(pathOf({ ...t, generation: 0 }));
  }
}

function pathOf(t: StatusTarget): string {
  const ns = t.namespace ? `/namespaces/${t.namespace}` : '';
  return `/apis/${t.group}/${t.version}${ns}/${t.plural}/${t.name}`;
}

export const ready = (reason: string, message: string): Condition[] => [
  { type: 'Ready', status: 'True', reason, message },
  { type: 'Reconciling', status: 'False', reason, message: '' },
  { type: 'Stalled', status: 'False', reason, message: '' },
];

/** Not ready; `stalled` when only a change of the spec or of a Secret can help. */
export const notReady = (reason: string, message: string, stalled: boolean): Condition[] => [
  { type: 'Ready', status: 'False', reason, message },
  { type: 'Reconciling', status: stalled ? 'False' : 'True', reason, message: stalled ? '' : message },
  { type: 'Stalled', status: stalled ? 'True' : 'False', reason, message: stalled ? message : '' },
];
