// The leader's controller (docs/architecture.md "The controller"): small components, one face each,
// driven by one serialized reconcile loop over the desired state (custom resources, Secrets,
// discovery). Triggers only request a reconcile (ReconcileLoop); a reconcile compiles the rules,
// syncs the credentials' Secret watches, the Git destinations, the route table, the watches and the
// webhook rules — in that order, one run at a time.
//   custom resources ─┐                          ┌→ Destinations (writer per repo+branch) → Git
//   Secrets ──────────┼→ ReconcileLoop → reconcile ┼→ RouteTable → WatchManager → Router ─┘
//   DiscoveryLoop ────┘                          └→ webhook rules, .status of every resource
// Stopped when leadership is lost; started afresh (a new start-up reconcile) when it is won again.
import type { Logger } from 'pino';
import { closeSshConnections, loadSigner, type CommitSigning } from '../git/index.ts';
import type { KubeObject } from '../kube-object.ts';
import { typeKey } from '../kube-object.ts';
import { holdSpeed } from '../optimize-for-size.ts';
import { MemoryRelease } from '../reduce-memory.ts';
import { compileRuleSet, type RuleSet } from '../rules/rule-set.ts';
import type { KindName } from '../rules/schemas.ts';
import { toYaml } from '../sanitize/index.ts';
import { notReady, StatusWriter } from '../status/status-writer.ts';
import { KubeApiError, WatchManager } from '../watch/index.ts';
import { clusterNow } from './cluster-now.ts';
import { CredentialsSource } from './credentials.ts';
import type { WatchSecret } from './secret-watches.ts';
import { settingsSigning, SigningKeys } from './signing-keys.ts';
import type { Controller, ControllerDeps } from './controller-types.ts';
import type { ControllerScope } from './scope.ts';
import { ClusterSources } from './cluster-sources.ts';
import { bootstrapFromSettings, destinationConfigs, onlyDestination } from './desired-state.ts';
import { destinationEvents } from './destination-events.ts';
import { Destinations } from './destinations.ts';
import { readiness, type Readiness } from './readiness.ts';
import { ReconcileLoop } from './reconcile-loop.ts';
import { ResourceCache } from './resource-cache.ts';
import { RouteTable } from './route-table.ts';
import { reportRouteStatus, statusReporter, type ReportStatus } from './route-status.ts';
import { Router } from './router.ts';
import { syncWebhookRules } from './webhook-rules.ts';

export type { Controller, ControllerDeps } from './controller-types.ts';

/**
 * How long a start-up list waits for a branch that is still opening (its checkpoints say where to
 * replay from) before listing now: about etcd's compaction horizon. A branch whose open failed is not
 * waited for. A new leader's clone of a branch with 10,000+ commits took 10.6 s (CI, 12-07): with the
 * 10 s it waited before, the changes made during the takeover were folded into a RECONCILE.
 */
const OPEN_WAIT_MS = 5 * 60_000;

/** A snapshot this large is followed by a full GC once it is pushed (see releaseMemory). */
const LARGE_SNAPSHOT = 1000;
/**
 * V8 runs for speed while this many changes wait for the writers, until they are down to
 * BACKLOG_LOW (optimize-for-size.ts): replaying a backlog of 4,800 changes for size cost 1.5× the
 * CPU per commit, a burst the writer keeps up with ~5%.
 */
const BACKLOG_HIGH = 1000;
const BACKLOG_LOW = 100;

export async function startController(deps: ControllerDeps): Promise<Controller> {
  const c = new LeaderController(deps);
  await c.start();
  return c;
}

class LeaderController implements Controller {
  private readonly log: Logger;
  private readonly backoff: { backoffMs: number; maxBackoffMs: number };
  private readonly report: ReportStatus;
  private ruleSet: RuleSet = { repos: new Map(), routes: [], problems: [] };
  private table = RouteTable.empty;
  /** Resource types whose list/watch the API server forbids (403), with its message. */
  private readonly forbidden = new Map<string, string>();
  /** Type keys the webhook configuration's rules covered at their last successful sync by this controller. */
  private webhookCovers: ReadonlySet<string> | undefined;
  /** Why the last sync of the webhook configuration's rules failed (cleared by one that succeeds). */
  private webhookProblem: string | undefined;
  private clusterUid: string | undefined;
  private largeSnapshots = 0;
  /** Route key → the type keys listed for it since its rule last changed (of those it still records): its Ready. */
  private readonly listedFor = new Map<string, Set<string>>();
  /**
   * The heap favours speed while this is held (optimize-for-size.ts): from the start until every
   * watch has listed and no large snapshot waits for its push, and again during a later large one.
   */
  private speedHold: (() => void) | undefined = holdSpeed();
  /** Changes waiting, by destination, and the speed hold while they are a backlog (BACKLOG_HIGH). */
  private readonly waiting = new Map<string, number>();
  private waitingTotal = 0;
  private backlogHold: (() => void) | undefined;
  private readonly memoryRelease: MemoryRelease;
  /** The configuration was applied once from synced custom resources (before, "every watch synced" is trivially true). */
  private applied = false;
  /** The custom resources, namespaces and discovery: the process's (scale-out) or this controller's own. */
  private readonly sources: ClusterSources;
  private unsubscribe: (() => void) | undefined;
  private readonly credentials: CredentialsSource;
  private readonly signingKeys: SigningKeys;
  /** The bootstrap repository's signing (settings git.signing), loaded at start. */
  private settingsSigning: CommitSigning;
  private readonly destinations: Destinations;
  private readonly router: Router;
  private readonly watches: WatchManager;
  private readonly loop: ReconcileLoop;
  private readonly scope: ControllerScope;

  constructor(private readonly d: ControllerDeps) {
    this.scope = d.scope ?? { kind: 'all' };
    this.log = d.logger.child({ component: 'controller' });
    this.memoryRelease = new MemoryRelease({
      lastActivity: () => d.store.lastRecordAt,
      ran: (ms) => d.metrics.memoryRelease.observe(ms / 1000),
      skipped: (reason, err) => this.log.debug({ reason, err: (err as Error | undefined)?.message }, 'memory-reducing GC not run'),
    });
    this.backoff = { backoffMs: d.settings.watch.backoffMs, maxBackoffMs: d.settings.watch.maxBackoffMs };
    this.report = statusReporter(new StatusWriter((path, body) => d.api.send('PATCH', path, body, { contentType: 'application/merge-patch+json' }).then(() => undefined), this.log));
    this.loop = new ReconcileLoop({ reconcile: () => this.reconcile(), debounceMs: 100, onError: (err) => this.log.error({ err }, 'applying the configuration failed') });
    this.sources = d.sources ?? new ClusterSources({
      api: d.api, logger: this.log, customResources: d.settings.customResources.enabled,
      discoveryIntervalMs: d.settings.customResources.discoveryIntervalMs, ...this.backoff,
    });
    this.credentials = new CredentialsSource({ watchSecret: this.watchSecret, onChange: () => this.loop.request() });
    this.signingKeys = new SigningKeys({ watchSecret: this.watchSecret, load: loadSigner, onChange: () => this.loop.request() });
    this.destinations = this.buildDestinations();
    this.router = new Router({
      table: () => this.table, destinations: this.destinations, clusterFolder: d.settings.cluster.folder ?? d.settings.cluster.name,
      // A takeover lists only once its branches' checkpoints are read, however long a clone takes to
      // open: listing now would fold the changes made meanwhile into a RECONCILE.
      openWaitMs: OPEN_WAIT_MS,
      nsLabels: (ns) => this.sources.namespaces.objects.get(`/${ns}`)?.metadata?.labels,
      onListed: (type, routeKeys) => {
        const key = typeKey(type);
        let more = false;
        for (const r of routeKeys) {
          const set = this.listedFor.get(r) ?? new Set<string>();
          if (!set.has(key)) { set.add(key); more = true; }
          this.listedFor.set(r, set);
        }
        if (more) this.reportRoutes();
      },
      onSnapshot: (type, n) => {
        d.metrics.resyncs.inc({ resource: typeKey(type) });
        if (n >= LARGE_SNAPSHOT) {
          this.largeSnapshots++;
          this.speedHold ??= holdSpeed();
        }
      },
    });
    this.watches = this.buildWatchManager();
  }

  async start(): Promise<void> {
    if (!this.d.settings.git && !this.d.settings.customResources.enabled) this.log.warn('nothing to record: no `git` in the settings and customResources.enabled is false');
    this.settingsSigning = await settingsSigning(this.d.secrets.signingKey);
    this.unsubscribe = this.sources.subscribe({
      changed: () => this.loop.request(),
      unchanged: () => {
        this.favourSize(); // with no type to watch, nothing else would
        return this.syncWebhook(); // also repairs rules changed by hand or registered after start
      },
    });
    await this.sources.start(); // shared: started already (or being started) by the process
    this.loop.request(0); // the start-up snapshot is timed from process start: no need to wait here
  }

  ready(): Readiness {
    return readiness({
      applied: this.applied, customResourcesSynced: this.customResourcesSynced(), watchesSynced: this.watches.synced(), watches: this.watches.types().length,
      writers: this.destinations.keys().map((k) => ({ destination: k, open: this.destinations.writer(k) !== undefined })),
      catalogue: this.sources.discovery.catalogue().length,
    });
  }

  async stop(): Promise<void> {
    this.memoryRelease.stop();
    this.speedHold?.();
    this.speedHold = undefined;
    this.backlogHold?.();
    this.backlogHold = undefined;
    this.unsubscribe?.();
    await this.loop.stop();
    if (!this.d.sources) await this.sources.stop();
    await this.watches.stop();
    // The last commits and push read the credentials and signing keys: their Secrets' watches
    // stop after (stopped before, the last push went out without credentials, and the commits of
    // a signed branch unsigned).
    await this.destinations.close();
    await this.credentials.stop();
    await this.signingKeys.stop();
    closeSshConnections();
  }

  refresh(): void {
    this.loop.request();
  }

  async fence(): Promise<void> {
    const fenced = this.destinations.fence(); // before any await: nothing is committed or pushed after this line
    await this.stop();
    await fenced;
  }

  /** One application of the desired state; never two at once (ReconcileLoop). */
  private async reconcile(): Promise<void> {
    const fromSynced = this.customResourcesSynced();
    const list = (k: KindName): KubeObject[] => this.sources.customResources.get(k)?.list() ?? [];
    const compiled = compileRuleSet({ repos: list('GitRepoConfig'), rules: list('WatchRule'), clusterRules: list('ClusterWatchRule'), bootstrap: bootstrapFromSettings(this.d.settings), ownNamespace: this.d.settings.ownNamespace });
    const scope = this.scope;
    this.ruleSet = scope.kind === 'destination' ? onlyDestination(compiled, scope.destination) : compiled;
    this.credentials.sync(this.ruleSet.repos.values());
    this.signingKeys.sync(this.ruleSet.repos.values());
    if (this.singletons()) this.reportProblems();
    const configs = destinationConfigs(this.ruleSet, {
      credentials: (key) => this.credentials.get(key), secretsPending: (key) => this.credentials.pending(key) || this.signingKeys.pending(key), signing: (key) => this.signingKeys.signing(key),
      settingsCredentials: this.d.secrets.gitCredentials, settingsSigning: () => this.settingsSigning,
    });
    if (scope.kind === 'catalogue') scope.destinations(configs.map((c) => c.key));
    await this.destinations.sync(scope.kind === 'catalogue' ? [] : configs);
    const next = RouteTable.build(this.ruleSet, this.sources.discovery.catalogue(), this.table);
    this.table = next.table;
    // A new or changed rule waits for a snapshot taken for it; a type a rule no longer records (a
    // CRD gone) is forgotten, so that it waits again if the type comes back; so is a removed rule.
    for (const k of next.changedRoutes) this.listedFor.delete(k);
    for (const [k, listed] of this.listedFor) {
      const types = new Set(next.table.typesOf(k));
      for (const t of listed) if (!types.has(t)) listed.delete(t);
      if (listed.size === 0) this.listedFor.delete(k);
    }
    const table = this.table;
    const started = new Set(this.watches.setTypes(scope.kind === 'catalogue' ? [] : [...table.types()], (t) => table.watchNamespace(t)));
    if (scope.kind !== 'catalogue') this.watches.relist([...next.relist].filter((k) => !started.has(k)), 'configuration changed', next.relistRoutes);
    await this.syncWebhook();
    this.reportRoutes();
    if (fromSynced) this.applied = true;
  }

  /** Every rule's status; the catalogue watches nothing, so it cannot tell a forbidden or listed type: each destination's own says. */
  private reportRoutes(): void {
    if (this.scope.kind === 'catalogue') return;
    reportRouteStatus(this.table, this.sources.discovery.catalogue(), this.forbidden, {
      listed: (key, route) => this.listedFor.get(route)?.has(key) ?? false,
      // Another process keeps the webhook's rules (a destination's writer): not this one's to tell.
      inWebhook: (key) => this.webhookCovers?.has(key) ?? !this.keepsWebhook(),
      ...(this.webhookProblem ? { webhookProblem: this.webhookProblem } : {}),
    }, this.report);
  }

  /** Problems of the custom resources (invalid spec, branch not allowed, Secret missing or invalid), and the signing keys in use. */
  private reportProblems(): void {
    for (const p of this.ruleSet.problems) this.report(p.ref, notReady(p.reason, p.message, true));
    for (const r of this.ruleSet.repos.values()) {
      if (!r.ref) continue;
      const problem = this.credentials.problem(r.key);
      if (problem) this.report(r.ref, notReady(problem.reason, problem.message, true));
      if (this.signingKeys.pending(r.key)) continue; // its Secret is being read: nothing to say yet
      const signing = this.signingKeys.signing(r.key);
      if (signing && 'problem' in signing) this.report(r.ref, notReady('SigningKeyInvalid', `commit signing is on but ${signing.problem}; nothing is committed until it is fixed`, true), { signing: null });
      else this.report(r.ref, [], { signing: signing ? { format: signing.signer.format, publicKey: signing.signer.publicKey, fingerprint: signing.signer.fingerprint } : null });
    }
  }

  /** Whether this controller does the cluster-wide work: the one leader, or the catalogue while it holds the main Lease. */
  private singletons(): boolean {
    return this.scope.kind === 'all' || (this.scope.kind === 'catalogue' && this.scope.singletons());
  }

  /** Whether this controller keeps the webhook configuration's rules equal to what is recorded. */
  private keepsWebhook(): boolean {
    return Boolean(this.d.settings.webhook.configurationName) && this.singletons();
  }

  private async syncWebhook(): Promise<void> {
    const name = this.d.settings.webhook.configurationName;
    if (!name || !this.singletons()) return;
    const types = this.table.types();
    try {
      await syncWebhookRules(this.d.api, name, types, this.log);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not update the webhook configuration rules');
      const problem = `ValidatingWebhookConfiguration ${name}: ${(err as Error).message}`;
      if (problem !== this.webhookProblem) {
        this.webhookProblem = problem;
        this.reportRoutes(); // a rule that waits for it says why
      }
      return;
    }
    const covers = new Set(types.map(typeKey));
    const grew = [...covers].some((k) => !this.webhookCovers?.has(k));
    this.webhookCovers = covers;
    this.webhookProblem = undefined;
    if (grew) this.reportRoutes(); // a rule waiting for the webhook may be Ready now
  }

  private customResourcesSynced(): boolean {
    return this.sources.customResourcesSynced();
  }

  private cache(type: { group: string; version: string; resource: string }, onChange: () => void, scope: { namespace?: string; fieldSelector?: string } = {}): ResourceCache {
    return new ResourceCache({ api: this.d.api, type, ...scope, logger: this.log, onChange, ...this.backoff });
  }

  private readonly watchSecret: WatchSecret = (secret, onChange) => {
    const cache = this.cache({ group: '', version: 'v1', resource: 'secrets' }, onChange, { namespace: secret.namespace, fieldSelector: `metadata.name=${secret.name}` }).start();
    return { get synced() { return cache.synced; }, current: () => cache.objects.get(`${secret.namespace}/${secret.name}`), stop: () => cache.stop() };
  };

  private buildDestinations(): Destinations {
    const { settings, metrics, logger } = this.d;
    const destinations: Destinations = new Destinations({
      dataDir: settings.dataDir, committer: settings.committer, maxPending: settings.queue.maxPending, maxPendingBytes: settings.queue.maxPendingBytes, ...this.backoff, toYaml,
      cluster: { name: settings.cluster.name, identity: () => (this.clusterUid ? { name: settings.cluster.name, uid: this.clusterUid } : undefined) },
      logger: logger.child({ component: 'git' }),
      events: destinationEvents({
        metrics, report: this.report, logger: this.log, destinations: () => destinations, table: () => this.table,
        repoRef: (key) => this.ruleSet.repos.get(key)?.ref,
        credentialsProblem: (key) => this.credentials.problem(key),
        folder: (base) => this.router.folder(base),
        clusterNow: () => this.clusterNow(),
        relist: (types, reason, routes) => this.watches.relist(types, reason, routes),
        pushedAll: (pending) => { if (this.largeSnapshots > 0 && pending === 0) this.releaseMemory(); },
        queueDepth: (key, depth) => this.queueDepth(key, depth),
      }),
    });
    return destinations;
  }

  private buildWatchManager(): WatchManager {
    const { settings, metrics, store } = this.d;
    // One destination of several: another destination's watch in this process may need the same
    // correlation, so it is read, not consumed (the TTL ends it; CorrelationStore.reader).
    const consume = this.scope.kind !== 'destination';
    return new WatchManager({
      api: this.d.api, prepare: this.d.prepare, correlations: consume ? store : store.reader(), logger: this.d.logger.child({ component: 'watch' }), ...this.backoff,
      resyncIntervalMs: settings.watch.resyncIntervalMs, missWaitMs: settings.correlation.missWaitMs,
      onLookup: (hit) => metrics.enrichment.inc({ result: hit ? 'hit' : 'miss' }),
      recordable: (type, change) => this.router.recordable(type, change),
      startFrom: (type) => this.router.startFrom(type),
      waitFor: async (keys, ms) => {
        const found = await store.waitFor(keys, ms, { consume });
        if (found || !this.d.askPeers) return found;
        await this.d.askPeers(keys); // a peer that does not answer is counted (kubescribe_peer_lookups_total)
        return store.waitFor(keys, 0, { consume });
      },
      onEvent: (t, type) => metrics.watchEvents.inc({ resource: typeKey(t), type }),
      onError: (t, err) => {
        metrics.watchErrors.inc({ resource: typeKey(t) });
        // A watch the service account may not have: the rules that asked for it say so.
        if (err instanceof KubeApiError && err.status === 403 && !this.forbidden.has(typeKey(t))) {
          this.forbidden.set(typeKey(t), err.message);
          this.reportRoutes();
        }
      },
      // Listed (the first time, or again after a 403): the rules that wait for it may be Ready now.
      onSynced: (t) => {
        this.forbidden.delete(typeKey(t));
        this.reportRoutes();
        this.favourSize();
      },
      onSize: (t, n) => metrics.watchedObjects.set({ resource: typeKey(t) }, n),
      sink: this.router,
    });
  }

  /** This cluster now: its identity and current resourceVersion (cluster-now.ts). */
  private async clusterNow(): Promise<{ uid?: string; resourceVersion?: string }> {
    const now = await clusterNow(this.d.api, this.log, this.clusterUid);
    this.clusterUid = now.uid;
    return now;
  }

  // A snapshot of many objects (start-up, resync) leaves tens of MiB of garbage in the old
  // generation, and V8 neither collects it nor shrinks the heap in a quiet process, so RSS would
  // stay at its peak. Once such a snapshot is committed and pushed, one memory-reducing GC gives
  // it back (measured: RSS 155 → 113 MiB at 10,000 objects) — at the next quiet moment, since it
  // pauses the event loop that answers admission (MemoryRelease; ~130 ms at 10,000 objects,
  // 0.3–1.1 s at 100,000, depending on the load).
  private releaseMemory(): void {
    this.largeSnapshots = 0;
    this.memoryRelease.request();
    this.favourSize();
  }

  private queueDepth(key: string, depth: number): void {
    this.waitingTotal += depth - (this.waiting.get(key) ?? 0);
    if (depth > 0) this.waiting.set(key, depth);
    else this.waiting.delete(key); // also a destination that closed (destination-events.ts)
    if (this.waitingTotal >= BACKLOG_HIGH) this.backlogHold ??= holdSpeed();
    else if (this.waitingTotal <= BACKLOG_LOW && this.backlogHold) {
      this.backlogHold();
      this.backlogHold = undefined;
    }
  }

  /** Lets the heap favour size again once no snapshot is under way (see speedHold). */
  private favourSize(): void {
    if (!this.speedHold || this.largeSnapshots > 0 || !this.watches.synced()) return;
    this.speedHold();
    this.speedHold = undefined;
  }
}
