// What every controller of a process reads of the cluster besides its own watches: kubescribe's
// custom resources, the namespaces (their labels, for namespaceSelector), and the catalogue of
// resource types (discovery). One set per process: with leaderElection.perDestination a replica
// runs a catalogue controller and one controller per destination it writes, and each of them kept
// its own copies before — 4 watches and a discovery of every API group every 30 s per destination,
// on the API server, and as many lists to wait for at each takeover. A single leader owns the set
// it starts (it is started afresh on each leadership); scale-out.ts starts one for the process and
// hands it to every controller, which subscribes while it runs.
import type { Logger } from 'pino';
import { GROUP, KINDS, VERSION, type KindName } from '../rules/schemas.ts';
import { discoverAll, type KubeApi } from '../watch/index.ts';
import { DiscoveryLoop } from './discovery-loop.ts';
import { ResourceCache } from './resource-cache.ts';

export interface SourceListener {
  /** A custom resource changed, or the catalogue did: apply the configuration again. */
  changed(): void;
  /** Discovery ran and found the catalogue unchanged (the controller repairs webhook rules then). */
  unchanged(): Promise<void>;
}

export interface ClusterSourcesOptions {
  api: KubeApi;
  logger: Logger;
  customResources: boolean;
  discoveryIntervalMs: number;
  backoffMs: number;
  maxBackoffMs: number;
}

export class ClusterSources {
  readonly customResources = new Map<KindName, ResourceCache>();
  readonly namespaces: ResourceCache;
  readonly discovery: DiscoveryLoop;
  private readonly listeners = new Set<SourceListener>();
  private started: Promise<void> | undefined;

  constructor(o: ClusterSourcesOptions) {
    const changed = (): void => { for (const l of this.listeners) l.changed(); };
    const cache = (resource: string, group = '', version = 'v1', onChange = (): void => undefined): ResourceCache =>
      new ResourceCache({ api: o.api, type: { group, version, resource }, logger: o.logger, onChange, backoffMs: o.backoffMs, maxBackoffMs: o.maxBackoffMs });
    this.namespaces = cache('namespaces'); // read when a change is routed: no reconcile needed
    if (o.customResources) {
      for (const kind of Object.keys(KINDS) as KindName[]) this.customResources.set(kind, cache(KINDS[kind].plural, GROUP, VERSION, changed));
    }
    this.discovery = new DiscoveryLoop({
      discover: () => discoverAll(o.api), intervalMs: o.discoveryIntervalMs, retryMs: o.backoffMs, logger: o.logger,
      changed,
      unchanged: async () => { await Promise.all([...this.listeners].map((l) => l.unchanged())); },
    });
  }

  /** Starts the watches and discovers once (resolves when done); a second call waits for the first. */
  start(): Promise<void> {
    this.started ??= (async () => {
      this.namespaces.start();
      for (const c of this.customResources.values()) c.start();
      await this.discovery.start();
    })();
    return this.started;
  }

  /** Calls the listener on every change until the returned function is called. */
  subscribe(listener: SourceListener): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  customResourcesSynced(): boolean {
    return [...this.customResources.values()].every((c) => c.synced);
  }

  async stop(): Promise<void> {
    this.discovery.stop();
    await Promise.all([...this.customResources.values(), this.namespaces].map((c) => c.stop()));
  }
}
