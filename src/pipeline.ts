// The leader's pipeline (DESIGN.md "The flow"), wired here and started when this replica leads:
//   rules (custom resources + settings bootstrap) → routes, destinations, resource types
//   watch manager (list+watch per type, change detector, author lookup) → routes → writer pool
//   writer pool (queue → recorder → Git writer per repo+branch) → status callbacks → .status
// Stopped when leadership is lost; started afresh (a new start-up reconcile) when it is won again.
import type { Logger } from 'pino';
import type { Change } from './change.ts';
import type { CorrelationStore } from './correlation/index.ts';
import { closeSshConnections, redactUrl, type Credentials } from './git/index.ts';
import { Checkpoints, compareRv, untrusted } from './git/checkpoints.ts';
import { WriterPool, type DestinationConfig, type RecordTarget } from './queue/writer-pool.ts';
import { typeKey, type KubeObject, type ResourceType } from './kube-object.ts';
import type { Metrics } from './metrics/metrics.ts';
import { ResourceCache } from './rules/resource-cache.ts';
import { compileRuleSet, routeSelects, typesFor, type Bootstrap, type ObjectRef, type Route, type RuleSet } from './rules/rule-set.ts';
import { GROUP, KINDS, VERSION, type KindName } from './rules/schemas.ts';
import { syncWebhookRules } from './rules/webhook-rules.ts';
import { toYaml } from './sanitize/index.ts';
import type { Secrets, Settings } from './settings/index.ts';
import { reduceMemory } from './reduce-memory.ts';
import { notReady, ready, StatusWriter, type Condition } from './status/status-writer.ts';
import { discoverAll, KubeApiError, namespaceFilter, parseResourceName, WatchManager, type KubeApi, type Prepare } from './watch/index.ts';

export interface Pipeline {
  ready(): { ready: boolean; detail: Record<string, unknown> };
  stop(): Promise<void>;
  /** Leadership lost: the Git writers stop at once (synchronously: no commit, no push), then the rest stops. */
  fence(): Promise<void>;
}

export interface PipelineDeps {
  settings: Readonly<Settings>;
  secrets: Secrets;
  logger: Logger;
  api: KubeApi;
  store: CorrelationStore;
  prepare: Prepare;
  metrics: Metrics;
}

const destKey = (d: { repoKey: string; branch: string }): string => `${d.repoKey}@${d.branch}`;
/** A snapshot this large is followed by a full GC once it is pushed (see releaseMemory). */
const LARGE_SNAPSHOT = 1000;

export async function startPipeline(deps: PipelineDeps): Promise<Pipeline> {
  const { settings, secrets, logger, api, store, prepare, metrics } = deps;
  const log = logger.child({ component: 'controller' });
  const backoff = { backoffMs: settings.watch.backoffMs, maxBackoffMs: settings.watch.maxBackoffMs };
  const status = new StatusWriter((path, body) => api.send('PATCH', path, body, { contentType: 'application/merge-patch+json' }).then(() => undefined), log);
  const statusOf = (ref: ObjectRef, conditions: Condition[], extra?: Record<string, unknown>): void => {
    const k = KINDS[ref.kind];
    void status.set({ group: GROUP, version: VERSION, plural: k.plural, namespace: ref.namespace, name: ref.name, generation: ref.generation }, conditions, extra);
  };

  let ruleSet: RuleSet = { repos: new Map(), routes: [], problems: [] };
  let routesByType = new Map<string, Route[]>();
  let catalogue: ResourceType[] = [];
  let catalogueJson = '';
  const routeTypes = new Map<string, string>(); // route key → its types (comma-separated)
  const routeSigs = new Map<string, string>(); // route key → generation|types: a change needs a reconcile
  const credentials = new Map<string, { creds?: Credentials; problem?: { reason: string; message: string } }>();
  const repoRefs = new Map<string, ObjectRef | undefined>();

  // A snapshot of many objects (start-up, resync) leaves tens of MiB of garbage in the old
  // generation, and V8 neither collects it nor shrinks the heap in a quiet process, so RSS would
  // stay at its peak. Once such a snapshot is committed and pushed, one memory-reducing GC gives
  // it back (measured: RSS 155 → 113 MiB at 10,000 objects).
  let largeSnapshots = 0;
  const releaseMemory = (): void => {
    largeSnapshots = 0;
    void reduceMemory().catch((err: unknown) => log.debug({ err: (err as Error).message }, 'memory-reducing GC failed'));
  };
  // Several clusters into one repository: this cluster's top folder, and its identity (the uid of
  // its kube-system namespace), written into its checkpoint file and checked when replaying from it.
  const clusterFolder = settings.cluster.folder ?? settings.cluster.name;
  let clusterUid: string | undefined;
  const inClusterFolder = (baseFolder: string): string => [clusterFolder, baseFolder].filter(Boolean).join('/');
  const pool = new WriterPool({
    dataDir: settings.dataDir,
    cluster: { name: settings.cluster.name, identity: () => (clusterUid ? { name: settings.cluster.name, uid: clusterUid } : undefined) },
    committer: settings.committer,
    maxPending: settings.queue.maxPending,
    ...backoff,
    toYaml,
    logger: logger.child({ component: 'git' }),
    events: {
      opened: (d) => {
        const ref = repoRefs.get(d.repoKey);
        if (ref) statusOf(ref, ready('Opened', `cloned ${redactUrl(d.url)} (${d.branch})`), { lastCommitSHA: pool.writer(d.key)?.tip() ?? '' });
      },
      openFailed: (d, err) => {
        const ref = repoRefs.get(d.repoKey);
        if (ref && !credentials.get(d.repoKey)?.problem) statusOf(ref, notReady(gitReason(err), (err as Error).message, false));
      },
      pushed: (d, r) => {
        const labels = { repo: redactUrl(d.url), branch: d.branch };
        metrics.pushDuration.observe(labels, r.durationMs / 1000);
        metrics.pendingCommits.set(labels, pool.pending(d.key));
        if (r.ok) metrics.lastPushTime.set(labels, r.at.getTime() / 1000);
        else metrics.pushFailures.inc({ ...labels, reason: r.error?.code ?? 'unknown' });
        if (r.ok && largeSnapshots > 0 && pool.pending(d.key) === 0) releaseMemory();
        const ref = repoRefs.get(d.repoKey);
        if (!ref) return;
        const repair = r.storeRepair ? { lastStoreRepair: { time: r.storeRepair.at.toISOString(), action: r.storeRepair.action, salvagedCommits: r.storeRepair.salvaged, lostCommits: r.storeRepair.lost, message: r.storeRepair.reason } } : {};
        if (r.ok) statusOf(ref, ready('Pushed', `pushed ${r.pushedCommits} commit(s) to ${d.branch}`), { lastCommitSHA: r.sha ?? '', lastPushTime: r.at.toISOString(), pendingCommits: pool.pending(d.key), ...repair });
        else statusOf(ref, notReady(gitReason(r.error), r.error?.message ?? 'push failed', false), { pendingCommits: pool.pending(d.key), ...repair });
      },
      committed: (d, kind) => {
        const labels = { repo: redactUrl(d.url), branch: d.branch };
        metrics.commits.inc({ ...labels, kind });
        metrics.pendingCommits.set(labels, pool.pending(d.key));
      },
      depth: (d, depth) => metrics.queueDepth.set({ repo: redactUrl(d.url), branch: d.branch }, depth),
      // A checkpoint written by another cluster, or ahead of this one, is never replayed from nor
      // trusted to skip changes: logged, shown in .status, dropped — the next list of its type (at
      // start, or the reconcile of a destination added at runtime) records the difference.
      checkpointsLoaded: async (d, checkpoints) => {
        const cluster = await clusterNow(); // also this cluster's identity, for the file it writes
        for (const [key, rv] of checkpoints.entries()) {
          const problem = untrusted(checkpoints, rv, cluster);
          if (!problem) continue;
          checkpoints.reject(key);
          const [folder = '', type = ''] = key.split('|');
          log.warn({ destination: d.key, checkpoint: key, resourceVersion: rv, reason: problem.reason }, `${problem.message}; listing now (a reconcile records the difference)`);
          const detail = { checkpoint: { reason: problem.reason, message: `${type}: ${problem.message}; answered by a reconcile`, resource: type, time: new Date().toISOString() } };
          for (const r of ruleSet.routes) {
            if (destKey(r.destination) === d.key && inClusterFolder(r.baseFolder) === folder && r.ref) statusOf(r.ref, [], detail);
          }
          const repoRef = repoRefs.get(d.repoKey);
          if (repoRef) statusOf(repoRef, [], detail);
        }
      },
      needsResync: (d) => {
        const routes = ruleSet.routes.filter((r) => destKey(r.destination) === d.key);
        const keys = new Set(routes.flatMap((r) => (routeTypes.get(r.key) ?? '').split(',').filter(Boolean)));
        manager.relist(keys, 'resync after the destination was unavailable', routes.map((r) => r.key));
      },
    },
  });

  /** Resource types whose list/watch the apiserver forbids (403), with the message. */
  const forbidden = new Map<string, string>();
  const namespaces = new ResourceCache({ api, type: { group: '', version: 'v1', resource: 'namespaces' }, logger: log, onChange: () => undefined, ...backoff });
  const nsLabels = (ns: string): Record<string, string> | undefined => namespaces.objects.get(`/${ns}`)?.metadata?.labels;

  // Whether a route records this change, its author aside (exclusions need the author, which the
  // watch manager looks up only for changes some route takes).
  const targetOf = (route: Route): RecordTarget => ({ baseFolder: inClusterFolder(route.baseFolder), ageRecipients: route.ageRecipients });
  const routeTakes = (route: Route, change: Change): boolean =>
    route.operations(change.type).has(change.operation) && routeSelects(route, change.object, nsLabels);
  const manager = new WatchManager({
    api, prepare, correlations: store, logger: logger.child({ component: 'watch' }), ...backoff,
    resyncIntervalMs: settings.watch.resyncIntervalMs,
    onLookup: (hit) => metrics.enrichment.inc({ result: hit ? 'hit' : 'miss' }),
    wanted: (type, change) => (routesByType.get(typeKey(type)) ?? []).some((route) => routeTakes(route, change)),
    missWaitMs: settings.correlation.missWaitMs,
    // Replay from the oldest checkpoint among the branches that record the type; a branch that is
    // further on skips what it has. No checkpoint anywhere (or a branch not open in time): list now.
    startFrom: async (type) => {
      const routes = routesByType.get(typeKey(type)) ?? [];
      if (routes.length === 0) return undefined;
      const cps = await Promise.all(routes.map(async (r) => (await pool.checkpoints(destKey(r.destination), 10_000))?.get(Checkpoints.key(inClusterFolder(r.baseFolder), typeKey(type)))));
      if (cps.some((c) => c === undefined)) return undefined;
      return (cps as string[]).reduce((min, c) => ((compareRv(c, min) ?? 0) < 0 ? c : min));
    },
    waitFor: (keys, ms) => store.waitFor(keys, ms),
    onEvent: (t, type) => metrics.watchEvents.inc({ resource: typeKey(t), type }),
    onError: (t, err) => {
      metrics.watchErrors.inc({ resource: typeKey(t) });
      // A watch the service account may not have: the rules that asked for it say so.
      if (err instanceof KubeApiError && err.status === 403 && !forbidden.has(typeKey(t))) {
        forbidden.set(typeKey(t), err.message);
        reportRoutes();
      }
    },
    onSynced: (t) => {
      if (forbidden.delete(typeKey(t))) reportRoutes();
    },
    onSize: (t, n) => metrics.watchedObjects.set({ resource: typeKey(t) }, n),
    sink: {
      // Rules that write into the same (destination, folder) act as one: a change goes there once
      // (if any of them takes it), and a reconcile covers the union of what they record — so
      // overlapping rules never delete each other's files.
      async changes(type: ResourceType, changes: Change[]) {
        for (const change of changes) {
          const sent = new Set<string>();
          for (const route of routesByType.get(typeKey(type)) ?? []) {
            const target = `${destKey(route.destination)}\u0000${route.baseFolder}`;
            if (sent.has(target) || !routeTakes(route, change) || route.excluded(change.author)) continue;
            sent.add(target);
            await pool.push(destKey(route.destination), change, targetOf(route));
          }
        }
      },
      async snapshot(type: ResourceType, objects: KubeObject[], reason: string, resourceVersion: string, only?: ReadonlySet<string>) {
        metrics.resyncs.inc({ resource: typeKey(type) });
        if (objects.length >= LARGE_SNAPSHOT) largeSnapshots++;
        const folders = new Map<string, Route[]>();
        for (const route of routesByType.get(typeKey(type)) ?? []) {
          const target = `${destKey(route.destination)}\u0000${route.baseFolder}`;
          folders.set(target, [...(folders.get(target) ?? []), route]);
        }
        for (const routes of folders.values()) {
          if (only && !routes.some((r) => only.has(r.key))) continue;
          const first = routes[0]!;
          const selected = objects.filter((o) => routes.some((r) => routeSelects(r, o, nsLabels)));
          const recorded = (ns: string): boolean => routes.some((r) => r.namespace(ns, nsLabels(ns)));
          await pool.push(destKey(first.destination), { kind: 'reconcile', type, objects: selected, recorded, reason, resourceVersion }, targetOf(first));
        }
      },
    },
  });

  /** This cluster now: its identity and current resourceVersion, in one list call (kube-system only). */
  async function clusterNow(): Promise<{ uid?: string; resourceVersion?: string }> {
    try {
      const list = await api.getJson<{ metadata: { resourceVersion?: string }; items: KubeObject[] }>('/api/v1/namespaces?fieldSelector=metadata.name%3Dkube-system');
      clusterUid = list.items[0]?.metadata?.uid ?? clusterUid;
      return { uid: clusterUid, resourceVersion: list.metadata.resourceVersion };
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not read the cluster identity (kube-system namespace)');
      return { uid: clusterUid };
    }
  }

  const caches = new Map<KindName, ResourceCache>();
  const secretCaches = new Map<string, { cache: ResourceCache; secret: string }>();
  let recomputeTimer: NodeJS.Timeout | undefined;
  /** Changes of the custom resources come in bursts: apply them once, 100 ms after the last. */
  const scheduleRecompute = (delayMs = 100): void => {
    clearTimeout(recomputeTimer);
    recomputeTimer = setTimeout(() => void recompute().catch((err: unknown) => log.error({ err }, 'applying the configuration failed')), delayMs);
  };

  const bootstrap: Bootstrap | undefined = settings.git && {
    repo: { url: settings.git.url, pushIntervalMs: settings.git.pushIntervalMs, pushMaxCommits: settings.git.pushMaxCommits, authorEmailTemplate: settings.git.authorEmailTemplate, ageRecipients: settings.git.secretEncryption?.ageRecipients },
    branch: settings.git.branch,
    baseFolder: settings.git.baseFolder,
    resourceRules: settings.watch.resources.map((spec) => {
      const p = parseResourceName(spec);
      return { apiGroups: [p.group], resources: [p.resource], operations: ['*' as const] };
    }),
    namespace: namespaceFilter(settings.watch.namespaces.include, settings.watch.namespaces.exclude, settings.ownNamespace),
  };

  function syncSecretWatches(): void {
    const wanted = new Map([...ruleSet.repos.values()].filter((r) => r.secret).map((r) => [r.key, r.secret as { namespace: string; name: string }]));
    for (const [key, s] of secretCaches) {
      const w = wanted.get(key);
      if (!w || `${w.namespace}/${w.name}` !== s.secret) {
        void s.cache.stop();
        secretCaches.delete(key);
      }
    }
    for (const [key, secret] of wanted) {
      if (secretCaches.has(key)) continue;
      const cache = new ResourceCache({
        api, type: { group: '', version: 'v1', resource: 'secrets' }, namespace: secret.namespace, fieldSelector: `metadata.name=${secret.name}`,
        logger: log, ...backoff, onChange: () => { readCredentials(key, secret, cache); scheduleRecompute(); },
      }).start();
      secretCaches.set(key, { cache, secret: `${secret.namespace}/${secret.name}` });
    }
  }

  function readCredentials(key: string, secret: { namespace: string; name: string }, cache: ResourceCache): void {
    const obj = cache.objects.get(`${secret.namespace}/${secret.name}`);
    const data = (obj?.data ?? {}) as Record<string, string>;
    const get = (k: string): string | undefined => (data[k] === undefined ? undefined : Buffer.from(data[k], 'base64').toString('utf8'));
    // SSH: Flux's layout (identity, identity.pub, known_hosts, password = passphrase) or Argo CD's
    // (sshPrivateKey; known_hosts in the same Secret, since kubescribe has no known-hosts ConfigMap).
    const sshKey = get('identity') ?? get('sshPrivateKey');
    if (!obj) credentials.set(key, { problem: { reason: 'SecretNotFound', message: `Secret ${secret.namespace}/${secret.name} does not exist` } });
    else if (sshKey !== undefined) credentials.set(key, { creds: { username: '', password: '', ssh: { privateKey: sshKey, passphrase: get('password'), knownHosts: get('known_hosts') ?? '' } } });
    else if (get('token') !== undefined) credentials.set(key, { creds: { username: get('username') ?? 'x-access-token', password: get('token') ?? '' } });
    else if (get('password') !== undefined) credentials.set(key, { creds: { username: get('username') ?? '', password: get('password') ?? '' } });
    else credentials.set(key, { problem: { reason: 'SecretInvalid', message: `Secret ${secret.namespace}/${secret.name} has none of the keys password, token, identity (SSH) or sshPrivateKey (SSH)` } });
  }

  async function refreshCatalogue(): Promise<boolean> {
    const next = await discoverAll(api);
    const json = JSON.stringify(next.map((t) => `${t.group}/${t.version}/${t.resource}`).sort());
    if (json === catalogueJson) return false;
    catalogue = next;
    catalogueJson = json;
    return true;
  }

  let webhookTypes: ResourceType[] = [];
  async function syncWebhook(): Promise<void> {
    if (!settings.webhook.configurationName) return;
    await syncWebhookRules(api, settings.webhook.configurationName, webhookTypes, log).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not update the webhook configuration rules'));
  }

  // Ready needs the configuration applied once from synced custom resources: before that no
  // watch exists, and "every watch synced" would be trivially true.
  let applied = false;
  /** Each rule's status: what it records, or why it cannot (not served, watch forbidden). */
  function reportRoutes(): void {
    for (const route of ruleSet.routes) {
      if (!route.ref) continue;
      const keys = (routeTypes.get(route.key) ?? '').split(',').filter(Boolean);
      const unknown = route.resourceRules.flatMap((rr) => rr.resources.filter((res) => res !== '*' && !catalogue.some((t) => t.resource === res && (rr.apiGroups.includes('*') || rr.apiGroups.includes(t.group))))
        .map((res) => `${res} (apiGroups ${rr.apiGroups.map((g) => JSON.stringify(g)).join(', ')})`));
      const denied = keys.filter((k) => forbidden.has(k));
      if (unknown.length > 0) statusOf(route.ref, notReady('InvalidSpec', `spec.rules: not served by this cluster: ${unknown.join('; ')}`, true), { resources: keys });
      else if (denied.length > 0) statusOf(route.ref, notReady('AccessDenied', `kubescribe may not list/watch ${denied.join(', ')} (${forbidden.get(denied[0]!)}); grant it in the chart's RBAC or narrow spec.rules. The other types are recorded.`, false), { resources: keys });
      else statusOf(route.ref, ready('Active', `recording ${keys.length} resource type(s) into ${route.destination.repoKey} ${route.destination.branch}${route.baseFolder ? `:${route.baseFolder}` : ''}`), { resources: keys });
    }
  }

  // One application of the configuration at a time: two overlapping ones could open one folder
  // twice or undo each other's destinations. A request while one runs is applied after it.
  let applying: Promise<void> = Promise.resolve();
  function recompute(): Promise<void> {
    applying = applying.catch(() => undefined).then(async () => {
      const fromSynced = [...caches.values()].every((c) => c.synced);
      await applyConfiguration();
      if (fromSynced) applied = true;
    });
    return applying;
  }

  async function applyConfiguration(): Promise<void> {
    const list = (k: KindName): KubeObject[] => caches.get(k)?.list() ?? [];
    ruleSet = compileRuleSet({ repos: list('GitRepoConfig'), rules: list('WatchRule'), clusterRules: list('ClusterWatchRule'), bootstrap, ownNamespace: settings.ownNamespace });
    syncSecretWatches();
    repoRefs.clear();
    for (const r of ruleSet.repos.values()) repoRefs.set(r.key, r.ref);

    // Problems of the custom resources (invalid spec, branch not allowed, Secret missing).
    for (const p of ruleSet.problems) statusOf(p.ref, notReady(p.reason, p.message, true));
    for (const r of ruleSet.repos.values()) {
      const problem = r.secret ? (credentials.get(r.key)?.problem ?? (secretCaches.get(r.key)?.cache.synced ? undefined : { reason: 'SecretNotFound', message: 'reading the Secret' })) : undefined;
      if (problem && r.ref) statusOf(r.ref, notReady(problem.reason, problem.message, true));
    }

    // Destinations: one writer per (repo, branch) that some valid route uses.
    const configs = new Map<string, DestinationConfig>();
    for (const route of ruleSet.routes) {
      const repo = ruleSet.repos.get(route.destination.repoKey);
      if (!repo) continue;
      const key = destKey(route.destination);
      configs.set(key, {
        key, repoKey: repo.key, url: repo.url, branch: route.destination.branch,
        pushIntervalMs: repo.pushIntervalMs, pushMaxCommits: repo.pushMaxCommits, authorEmailTemplate: repo.authorEmailTemplate,
        credentials: repo.key === 'settings' ? secrets.gitCredentials : () => credentials.get(repo.key)?.creds,
      });
    }
    await pool.sync([...configs.values()]);

    // Resource types per route, resolved through discovery ('*' included).
    const byType = new Map<string, Route[]>();
    const allTypes = new Map<string, ResourceType>();
    const relist = new Set<string>();
    const relistFor = new Set<string>();
    for (const route of ruleSet.routes) {
      const types = typesFor(route.resourceRules, catalogue);
      for (const t of types) {
        byType.set(typeKey(t), [...(byType.get(typeKey(t)) ?? []), route]);
        allTypes.set(typeKey(t), t);
      }
      const sig = `${route.ref?.generation ?? 0}|${types.map(typeKey).sort().join(',')}`;
      const keys = types.map(typeKey);
      if (routeSigs.get(route.key) !== sig) {
        keys.forEach((k) => relist.add(k));
        relistFor.add(route.key);
      }
      routeSigs.set(route.key, sig);
      routeTypes.set(route.key, keys.join(','));
    }
    reportRoutes();
    const live = new Set(ruleSet.routes.map((r) => r.key));
    for (const k of [...routeTypes.keys()]) if (!live.has(k)) { routeTypes.delete(k); routeSigs.delete(k); }
    routesByType = byType;
    const started = new Set(manager.setTypes([...allTypes.values()]));
    manager.relist([...relist].filter((k) => !started.has(k)), 'configuration changed', relistFor);
    webhookTypes = [...allTypes.values()];
    await syncWebhook();
  }

  const isReady = (): { ready: boolean; detail: Record<string, unknown> } => {
    const writers = pool.keys().map((k) => ({ destination: k, open: pool.writer(k) !== undefined }));
    const crs = [...caches.values()].every((c) => c.synced);
    const ok = applied && crs && manager.synced() && writers.every((w) => w.open) && catalogue.length > 0;
    return { ready: ok, detail: { configurationApplied: applied, customResourcesSynced: crs, watchesSynced: manager.synced(), watches: manager.types().length, writers } };
  };

  if (!bootstrap && !settings.customResources.enabled) {
    log.warn('nothing to record: no `git` in the settings and customResources.enabled is false');
  }
  namespaces.start();
  if (settings.customResources.enabled) {
    for (const kind of Object.keys(KINDS) as KindName[]) {
      caches.set(kind, new ResourceCache({ api, type: { group: GROUP, version: VERSION, resource: KINDS[kind].plural }, logger: log, onChange: () => scheduleRecompute(), ...backoff }).start());
    }
  }
  let discoveryTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  const discover = async (): Promise<void> => {
    try {
      if (await refreshCatalogue()) scheduleRecompute();
      else await syncWebhook(); // also repairs rules changed by hand or registered after start
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'API discovery failed; retrying');
    }
    if (!stopped) discoveryTimer = setTimeout(() => void discover(), catalogue.length > 0 ? settings.customResources.discoveryIntervalMs : settings.watch.backoffMs);
  };
  await discover();
  scheduleRecompute(0); // the start-up snapshot is timed from process start: no need to wait here

  const stop = async (): Promise<void> => {
    stopped = true;
    clearTimeout(discoveryTimer);
    clearTimeout(recomputeTimer);
    await Promise.all([...caches.values(), ...[...secretCaches.values()].map((s) => s.cache), namespaces].map((c) => c.stop()));
    await manager.stop();
    await pool.close();
    closeSshConnections();
  };
  return {
    ready: isReady,
    stop,
    async fence() {
      const fenced = pool.fence(); // before any await: nothing is committed or pushed after this line
      await stop();
      await fenced;
    },
  };
}

function gitReason(err: unknown): string {
  switch ((err as { code?: string } | undefined)?.code) {
    case 'KUBESCRIBE_ERR_GIT_AUTH': return 'AccessDenied';
    case 'KUBESCRIBE_ERR_GIT_UNREACHABLE': return 'RepoUnreachable';
    case 'KUBESCRIBE_ERR_GIT_HOST_KEY_UNKNOWN': return 'HostKeyUnknown';
    case 'KUBESCRIBE_ERR_GIT_HOST_KEY_MISMATCH': return 'HostKeyMismatch';
    case 'KUBESCRIBE_ERR_GIT_PUSH_REJECTED': return 'PushRejected';
    case 'KUBESCRIBE_ERR_GIT_STORE_CORRUPT': return 'StoreDamaged';
    default: return 'GitError';
  }
}
