// The one place that wires the process together:
//   webhook (every replica, on a thread of its own) → correlation store ⇄ peers (push at once, pull by content hash)
//   Lease election → the leader runs the controller (src/controller/: rules, watch, Git, status)
//   /metrics, /healthz, /readyz on the plain HTTP server.
// Returns { start, stop }.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { closeWithin, inProcessWebhook, WebhookThread } from './admission/index.ts';
import { authorInterner, CorrelationStore, sharedAuthor } from './correlation/index.ts';
import { batchLookups, PeerClient, storePeerAnswers } from './peers/index.ts';
import type { KubeObject } from './kube-object.ts';
import { LeaseElection } from './leader/lease-election.ts';
import { leaseStore } from './leases.ts';
import { buildScaleOut } from './scale-out.ts';
import { sleep } from './backoff.ts';
import { configureGitTransport } from './git/index.ts';
import { createMetrics } from './metrics/metrics.ts';
import { startController, type Controller } from './controller/controller.ts';
import { ResourceCache } from './controller/resource-cache.ts';
import { noteBytes } from './queue/index.ts';
import { compileSanitizeOptions, contentHashAndLength, sanitize } from './sanitize/index.ts';
import type { Secrets, Settings } from './settings/index.ts';
import { createKubeApi, loadKubeConnection, type Prepared } from './watch/index.ts';

export interface App {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly server: FastifyInstance;
}

export async function buildApp(settings: Readonly<Settings>, secrets: Secrets, logger: Logger): Promise<App> {
  const registry = new Registry();
  const metrics = createMetrics(registry);
  configureGitTransport(settings.gitTransport);
  const sanitizeOptions = compileSanitizeOptions({ secretKey: secrets.secretHashKey, excludeFields: settings.sanitize.excludeFields });
  const prepare = (obj: KubeObject): Prepared => {
    const sanitized = sanitize(obj, sanitizeOptions);
    const { hash, length } = contentHashAndLength(sanitized);
    noteBytes(sanitized, length); // what it weighs in the queue, measured by the hash's own serialization
    return { sanitized, hash };
  };
  const api = createKubeApi(loadKubeConnection(settings.kubernetes.kubeconfig), { requestTimeoutMs: settings.kubernetes.requestTimeoutMs, watchIdleMs: settings.kubernetes.watchIdleTimeoutMs });
  const log = logger.child({ component: 'replica' });

  const store = new CorrelationStore({
    ttlMs: settings.correlation.ttlMs,
    maxEntries: settings.correlation.maxEntries,
    onEvict: (reason) => metrics.correlationEvictions.inc({ reason }),
  });

  // Peers: who the other replicas are (EndpointSlices of the headless Service, or a static list).
  const selfIp = process.env.POD_IP;
  const endpointSlices = settings.peers.service
    ? new ResourceCache({ api, type: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' }, namespace: settings.ownNamespace, fieldSelector: undefined, logger: log, onChange: () => undefined, backoffMs: settings.watch.backoffMs, maxBackoffMs: settings.watch.maxBackoffMs })
    : undefined;
  const peerUrls = (): string[] => {
    if (!endpointSlices) return [...settings.peers.static];
    const out: string[] = [];
    for (const slice of endpointSlices.list()) {
      if (slice.metadata?.labels?.['kubernetes.io/service-name'] !== settings.peers.service) continue;
      for (const ep of (slice.endpoints ?? []) as Array<{ addresses?: string[]; conditions?: { ready?: boolean } }>) {
        for (const ip of ep.addresses ?? []) if (ip !== selfIp) out.push(`https://${ip.includes(':') ? `[${ip}]` : ip}:${settings.peers.port}`);
      }
    }
    return out;
  };
  const peers = secrets.peerSecret
    ? new PeerClient({
      // loadSecrets refuses a peer secret without peers.caFile: peers are only reached over verified TLS.
      secret: secrets.peerSecret, peers: peerUrls, ca: readFileSync(settings.peers.caFile ?? ''),
      events: {
        pushed: (ok) => metrics.peerPushes.inc({ result: ok ? 'ok' : 'failed' }),
        pulled: (result) => metrics.peerPulls.inc({ result }),
        lookedUp: (result) => metrics.peerLookups.inc({ result }),
      },
    })
    : undefined;

  // The leader asks its peers for the keys it still misses after the wait, in batches (peers/batch-lookups.ts).
  const askPeers = peers ? batchLookups((keys) => peers.lookup(keys, store)) : undefined;

  // Set on SIGTERM: not ready, answers close their connections, the webhook closes after a delay.
  let terminating = false;
  let webhookServing = false;
  // Interned: reviews come from few identities, and the store keeps an author per entry for minutes.
  const intern = authorInterner();
  // The webhook answers on a thread of its own (admission/thread.ts; webhook.ownThread false: on
  // this one, through the same messages); its records land here.
  const webhook = new WebhookThread({
    config: {
      host: settings.webhook.host, port: settings.webhook.port,
      tls: { certFile: settings.webhook.tlsCertFile, keyFile: settings.webhook.tlsKeyFile },
      maxBodyBytes: settings.webhook.maxBodyBytes, maxRequestsPerConnection: settings.webhook.maxRequestsPerConnection,
      logLevel: settings.logLevel, secretHashKey: secrets.secretHashKey, excludeFields: settings.sanitize.excludeFields,
      ...(secrets.peerSecret ? { peerSecret: secrets.peerSecret } : {}),
    },
    onReview: (outcome, seconds, records) => {
      metrics.webhookRequests.inc({ outcome });
      if (seconds > 0) metrics.webhookDuration.observe(seconds);
      for (const [key, received] of records) {
        const author = sharedAuthor(intern, received);
        store.record(key, author);
        metrics.correlationsStored.inc();
        peers?.notify(key, author);
      }
    },
    answerPeer: storePeerAnswers({ store, onReceived: (n) => metrics.peerReceived.inc(n) }),
    onFailed: (err) => {
      if (!webhookServing) return; // start() fails with it
      log.fatal({ err }, 'the webhook thread stopped: exiting, so that the pod is restarted');
      process.exit(1);
    },
    logger: log,
    ...(settings.webhook.ownThread ? {} : { spawn: inProcessWebhook }),
  });

  // Leadership: the leader runs the controller; it is started after pulling every peer.
  let controller: Controller | undefined;
  let transition: Promise<void> = Promise.resolve();
  // Whether this replica may write now: false from the moment the renew deadline passes.
  let leadingNow = false;
  const lead = (leading: boolean): void => {
    if (leading && terminating) return; // a pod on its way out never starts writing again
    leadingNow = leading;
    transition = transition.then(async () => {
      if (leading && !controller) {
        metrics.leader.set(1);
        metrics.failovers.inc();
        await peers?.pullAll(store);
        const started = await startController({ settings, secrets, logger, api, store, prepare, metrics, ...(askPeers ? { askPeers } : {}) });
        controller = started;
        if (!leadingNow) void started.fence(); // lost while starting: the stop below follows
      } else if (!leading && controller) {
        metrics.leader.set(0);
        const p = controller;
        controller = undefined;
        await p.stop();
      }
    }).catch((err: unknown) => log.error({ err }, 'leadership transition failed'));
  };
  const identity = settings.leaderElection.identity || process.env.POD_NAME || `${hostname()}-${process.pid}`;
  // Replicas share the writing, one Lease per destination (src/scale-out.ts); else one leader.
  const scaleOut = settings.leaderElection.enabled && settings.leaderElection.perDestination
    ? buildScaleOut({ controller: { settings, secrets, logger, api, store, prepare, metrics, ...(askPeers ? { askPeers } : {}) }, identity, logger, beforeWriting: async () => { await peers?.pullAll(store); } })
    : undefined;
  const election = settings.leaderElection.enabled && !scaleOut
    ? new LeaseElection({
      store: leaseStore(api, settings.leaderElection.namespace || settings.ownNamespace, settings.leaderElection.leaseName),
      identity, leaseDurationMs: settings.leaderElection.leaseDurationMs, renewIntervalMs: settings.leaderElection.renewIntervalMs,
      renewDeadlineMs: settings.leaderElection.renewDeadlineMs,
      logger: log, onStartedLeading: () => lead(true),
      // Synchronously: the writers are fenced before this returns, then the controller stops.
      onStoppedLeading: () => {
        void controller?.fence().catch((err: unknown) => log.error({ err }, 'fencing the writers failed'));
        lead(false);
      },
      onRenewed: (gapMs) => metrics.leaseRenewGap.observe(gapMs / 1000),
    })
    : undefined;

  const server = Fastify({ loggerInstance: logger.child({ component: 'server' }), logController: new LogController({ disableRequestLogging: true }) }) as unknown as FastifyInstance;
  server.get('/healthz', async () => ({ ok: true }));
  // Whether the controller is synced: the leader's when its watches listed and its repositories
  // opened; a standby has none to wait for. Never part of readiness (below).
  const synced = (): { synced: boolean; detail: Record<string, unknown> } => {
    const r = scaleOut?.ready() ?? controller?.ready() ?? { ready: election !== undefined, detail: {} };
    return { synced: r.ready, detail: r.detail };
  };
  server.get('/readyz', async (_req, reply) => {
    // Ready = the webhook serves. In a cluster the webhook Service sends only to ready pods: a
    // tenant's unreachable repository, a forbidden watch or a long start-up list must never leave
    // it without endpoints (every change would then pass unattributed). Pipeline health goes to
    // `synced` here, the kubescribe_pipeline_synced metric, and the custom resources' .status.
    const s = synced();
    const ready = webhookServing && !terminating;
    return reply.code(ready ? 200 : 503).send({ ready, synced: s.synced, leader: scaleOut ? scaleOut.leading() : controller !== undefined, identity, ...s.detail });
  });
  server.get('/metrics', async (_req, reply) => {
    metrics.correlationStoreSize.set(store.size);
    // Bounded: a thread that does not answer must not hang the scrape (its gauges keep their last values).
    const loop = webhookServing ? await Promise.race([webhook.loopDelay().catch(() => undefined), sleep(1000).then(() => undefined)]) : undefined;
    if (loop) {
      metrics.webhookLoopDelayMax.set(loop.maxSeconds);
      metrics.webhookLoopDelayP99.set(loop.p99Seconds);
    }
    metrics.pipelineSynced.set(synced().synced ? 1 : 0);
    return reply.type(registry.contentType).send(await registry.metrics());
  });

  let pullTimer: NodeJS.Timeout | undefined;
  return {
    server,
    async start() {
      try {
        await webhook.listen();
      } catch (err) {
        await webhook.close(0); // the thread would keep the process alive
        throw err;
      }
      webhookServing = true;
      await server.listen({ host: settings.server.host, port: settings.server.port });
      endpointSlices?.start();
      if (peers) {
        const pull = (): void => {
          pullTimer = setTimeout(() => void peers.pullAll(store).finally(pull), settings.peers.pullIntervalMs);
        };
        pull();
      }
      if (scaleOut) await scaleOut.start();
      else if (election) election.start();
      else lead(true);
    },
    async stop() {
      clearTimeout(pullTimer);
      // Not ready from now on, but still answering until the Service has let this pod go.
      terminating = true;
      webhook.setLeaving(true);
      const answerUntil = Date.now() + (webhookServing ? settings.webhook.shutdownDelayMs : 0);
      // Hand the writing over at once, while the webhook (and the peer routes on it) still answer:
      // the next leader starts while this replica's correlations can still be pulled and pushed, and
      // a leaving leader does not look up authors while its peers already treat it as gone. The
      // controller stops, its last push included, while the lease is still held, then the lease is
      // released; a renew deadline passing meanwhile fences it instead.
      lead(false);
      await transition;
      if (election) await election.stop();
      await scaleOut?.stop();
      const left = answerUntil - Date.now();
      if (left > 0) {
        log.info({ delayMs: left }, 'not ready; the webhook answers a little longer while the Service lets this pod go');
        await sleep(left);
      }
      log.debug('stopped leading; closing the webhook');
      webhookServing = false;
      await webhook.close(2000);
      await endpointSlices?.stop();
      log.debug('stopped the peer watch');
      peers?.close();
      await closeWithin(server, 2000);
    },
  };
}
