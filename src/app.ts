// The one place that wires the components together (DESIGN.md "The flow"):
//   webhook → correlation store;  list/watch → change detector (author lookup) → queue → recorder → Git writer.
// Returns { start, stop }. Everything else imports forward only; only this file knows everything.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { buildWebhookServer, createAdmissionHandler } from './admission/index.ts';
import type { QueueItem } from './change.ts';
import { CorrelationStore } from './correlation/index.ts';
import { GitWriter, redactUrl } from './git/index.ts';
import { Recorder } from './git/recorder.ts';
import type { KubeObject, ResourceType } from './kube-object.ts';
import { createMetrics } from './metrics/metrics.ts';
import { BoundedQueue } from './queue/index.ts';
import { compileSanitizeOptions, contentHash, sanitize, toYaml } from './sanitize/index.ts';
import type { Secrets, Settings } from './settings/index.ts';
import { ChangeDetector, createKubeApi, loadKubeConfig, namespaceFilter, resolveResources, runListWatch, type Prepared } from './watch/index.ts';

export interface App {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly webhook: FastifyInstance;
  readonly server: FastifyInstance;
}

export async function buildApp(settings: Readonly<Settings>, secrets: Secrets, logger: Logger): Promise<App> {
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const sanitizeOptions = compileSanitizeOptions({ secretKey: secrets.secretHashKey, excludeFields: settings.sanitize.excludeFields });
  const prepare = (obj: KubeObject): Prepared => {
    const sanitized = sanitize(obj, sanitizeOptions);
    return { sanitized, hash: contentHash(sanitized) };
  };

  const store = new CorrelationStore({
    ttlMs: settings.correlation.ttlMs,
    maxEntries: settings.correlation.maxEntries,
    onEvict: (reason) => metrics.correlationEvictions.inc({ reason }),
  });
  const handler = createAdmissionHandler({
    sink: store,
    fingerprint: (obj) => prepare(obj).hash,
    onRecord: () => metrics.correlationsStored.inc(),
  });
  const webhook = await buildWebhookServer({
    handler,
    tls: { certFile: settings.webhook.tlsCertFile, keyFile: settings.webhook.tlsKeyFile },
    maxBodyBytes: settings.webhook.maxBodyBytes,
    logger,
    observe: (outcome, seconds) => {
      metrics.webhookRequests.inc({ outcome });
      if (seconds > 0) metrics.webhookDuration.observe(seconds);
    },
  });

  const repoLabel = { repo: redactUrl(settings.git.url), branch: settings.git.branch };
  const queue = new BoundedQueue<QueueItem>(settings.queue.maxPending, (d) => metrics.queueDepth.set(repoLabel, d));
  const include = namespaceFilter(settings.watch.namespaces.include, settings.watch.namespaces.exclude, settings.ownNamespace);
  const abort = new AbortController();
  const synced = new Set<string>();
  let types: ResourceType[] = [];
  let writer: GitWriter | undefined;
  let consumer: Promise<void> | undefined;
  const watches: Array<Promise<void>> = [];

  const server = Fastify({ loggerInstance: logger.child({ component: 'server' }), disableRequestLogging: true }) as unknown as FastifyInstance;
  server.get('/healthz', async () => ({ ok: true }));
  server.get('/readyz', async (_req, reply) => {
    const ready = writer !== undefined && types.length > 0 && synced.size === types.length;
    return reply.code(ready ? 200 : 503).send({ ready, watchesSynced: synced.size, watches: types.length, git: writer !== undefined });
  });
  server.get('/metrics', async (_req, reply) => {
    metrics.correlationStoreSize.set(store.size);
    if (writer) metrics.pendingCommits.set(repoLabel, writer.pending());
    return reply.type(registry.contentType).send(await registry.metrics());
  });

  async function retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let backoff = settings.watch.backoffMs;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (abort.signal.aborted) throw err;
        logger.error({ err: (err as Error).message, code: (err as { code?: string }).code, retryInMs: backoff }, `${what} failed; retrying`);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, settings.watch.maxBackoffMs);
      }
    }
  }

  async function runPipeline(): Promise<void> {
    const api = createKubeApi(loadKubeConfig(settings.kubernetes.kubeconfig));
    const w = await retrying('opening the Git repository', () => GitWriter.open({
      dir: `${settings.dataDir}/repos/${safeDirName(settings.git.url)}/${safeDirName(settings.git.branch)}`,
      url: settings.git.url,
      branch: settings.git.branch,
      credentials: secrets.gitCredentials,
      committer: settings.git.committer,
      pushIntervalMs: settings.git.pushIntervalMs,
      pushMaxCommits: settings.git.pushMaxCommits,
      logger: logger.child({ component: 'git', branch: settings.git.branch }),
    }));
    writer = w;
    w.onPush((r) => {
      metrics.pushDuration.observe(repoLabel, r.durationMs / 1000);
      if (r.ok) metrics.lastPushTime.set(repoLabel, r.at.getTime() / 1000);
      else metrics.pushFailures.inc({ ...repoLabel, reason: r.error?.code ?? 'unknown' });
    });
    const recorder = new Recorder({
      writer: w,
      baseFolder: settings.git.baseFolder,
      authorEmailTemplate: settings.git.authorEmailTemplate,
      toYaml,
      logger: logger.child({ component: 'recorder' }),
      onCommit: (kind) => metrics.commits.inc({ ...repoLabel, kind }),
    });
    consumer = (async () => {
      for await (const item of queue.drain()) {
        await retrying('writing a commit', () => recorder.record(item));
      }
    })();

    types = await retrying('resolving resource types', () => resolveResources(api, settings.watch.resources));
    for (const type of types) {
      const label = `${type.group || 'core'}/${type.resource}`;
      const detector = new ChangeDetector(type, prepare, store, include, (hit) => metrics.enrichment.inc({ result: hit ? 'hit' : 'miss' }));
      watches.push(runListWatch({
        api, type, signal: abort.signal, logger: logger.child({ component: 'watch' }),
        backoffMs: settings.watch.backoffMs, maxBackoffMs: settings.watch.maxBackoffMs,
        resyncIntervalMs: settings.watch.resyncIntervalMs,
        onSynced: () => synced.add(label),
        onError: () => metrics.watchErrors.inc({ resource: label }),
        handler: {
          onList: async (items, _rv, relist) => {
            metrics.resyncs.inc({ resource: label });
            if (relist) {
              // Changes missed meanwhile go through correlation first (their authors may still match);
              // the reconcile after them then converges the branch with the cluster for anything else.
              for (const change of detector.relist(items)) await queue.push(change);
              const objects = items.filter((obj) => detector.accepts(obj)).map((obj) => prepare(obj).sanitized);
              await queue.push({ kind: 'reconcile', type, objects, recorded: include, reason: 'periodic resync' });
            } else {
              const kept = items.filter((obj) => detector.accepts(obj)).map((obj) => ({ obj, prepared: prepare(obj) }));
              detector.seed(kept);
              await queue.push({ kind: 'reconcile', type, objects: kept.map((k) => k.prepared.sanitized), recorded: include, reason: 'start-up' });
            }
            metrics.watchedObjects.set({ resource: label }, detector.size);
          },
          onEvent: async (ev) => {
            metrics.watchEvents.inc({ resource: label, type: ev.type });
            for (const change of detector.observe(ev.type, ev.object)) await queue.push(change);
            metrics.watchedObjects.set({ resource: label }, detector.size);
          },
        },
      }));
    }
  }

  let pipeline: Promise<void> | undefined;
  return {
    webhook,
    server,
    async start() {
      await webhook.listen({ host: settings.webhook.host, port: settings.webhook.port });
      await server.listen({ host: settings.server.host, port: settings.server.port });
      pipeline = runPipeline().catch((err: unknown) => {
        if (!abort.signal.aborted) logger.fatal({ err }, 'the pipeline stopped');
      });
    },
    async stop() {
      abort.abort();
      await webhook.close();
      await pipeline;
      await Promise.allSettled(watches);
      queue.close();
      await consumer?.catch(() => undefined);
      await writer?.close();
      await server.close();
    },
  };
}

/** A folder name for a repo URL or branch, credentials removed. */
function safeDirName(s: string): string {
  return (/^[a-z]+:\/\//.test(s) ? redactUrl(s) : s).replace(/[^A-Za-z0-9._-]/g, '_');
}
