// An in-memory copy of kubescribe's custom resources of one kind (or of any small set of objects,
// such as the namespaces or a Secret), kept by list+watch; calls back on every change. A kind whose
// CRD is not installed counts as empty (and is retried), so kubescribe runs without its CRDs too.
import type { Logger } from 'pino';
import type { KubeObject, ResourceType } from '../kube-object.ts';
import { KubeApiError, runListWatch, type KubeApi } from '../watch/index.ts';

export class ResourceCache {
  readonly objects = new Map<string, KubeObject>();
  synced = false;
  private readonly abort = new AbortController();
  private done: Promise<void> = Promise.resolve();

  constructor(private readonly o: { api: KubeApi; type: ResourceType; namespace?: string; fieldSelector?: string; logger: Logger; onChange: () => void; backoffMs: number; maxBackoffMs: number }) {}

  start(): this {
    const key = (obj: KubeObject): string => `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    this.done = runListWatch({
      api: this.o.api, type: this.o.type, namespace: this.o.namespace, fieldSelector: this.o.fieldSelector, signal: this.abort.signal,
      logger: this.o.logger, backoffMs: this.o.backoffMs, maxBackoffMs: this.o.maxBackoffMs,
      onError: (err) => {
        if (err instanceof KubeApiError && err.status === 404 && !this.synced) {
          this.synced = true; // not installed (yet): empty
          this.o.onChange();
        }
      },
      handler: {
        onList: async (items) => {
          this.objects.clear();
          for (const i of items) this.objects.set(key(i), i);
          this.synced = true;
          this.o.onChange();
        },
        onEvent: async (ev) => {
          if (ev.type === 'DELETED') this.objects.delete(key(ev.object));
          else this.objects.set(key(ev.object), ev.object);
          this.o.onChange();
        },
      },
    });
    return this;
  }

  list(): KubeObject[] {
    return [...this.objects.values()];
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}
