// A webhook server in a process of its own, for bench/webhook.ts and bench/correlation-flood.ts,
// so that the load generator (autocannon, in the parent) never shares its event loop. Three modes,
// set up alike (same fastify options, TLS choice, body limit, logger):
//   admission  as production runs it (src/app.ts): the webhook on a thread of its own
//              (WebhookThread running src/admission/webhook-thread.ts), its records sent to this
//              process's main thread, which holds a real CorrelationStore and the production
//              metrics, and V8 for size once the thread runs (memory.optimizeForSize, as src/main.ts;
//              KS_BENCH_OPTIMIZE_FOR_SIZE=0: without). CPU is the whole process's (both threads);
//              the server-side times below are not sampled (the server runs on the other thread),
//              the handler's are;
//   route      the same route, handler, fingerprint sanitizedContentHash(obj,
//              compileSanitizeOptions({secretKey})), store and metrics on one thread (what a
//              request costs without the thread hop; the arrangement before 2026-12-06);
//   bare       a fastify route that only answers `allowed` (fastify still parses the JSON body).
// Speaks to the parent over IPC: {type:'stats'} → samples and memory; {type:'gc-stats'} → the same
// after a full garbage collection; {type:'reset'}; {type:'sample', on}.
// Run by the parent only: node --import tsx bench/support/webhook-server.ts <mode> <tls|plain> <maxEntries> <certDir>
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Worker } from 'node:worker_threads';
import { buildWebhookServer, createAdmissionHandler, WebhookThread, type WebhookPort } from '../../src/admission/index.ts';
import { authorInterner, CorrelationStore, sharedAuthor } from '../../src/correlation/index.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { optimizeForSize } from '../../src/optimize-for-size.ts';
import { compileSanitizeOptions, sanitizedContentHash } from '../../src/sanitize/index.ts';

export type ServerMode = 'admission' | 'route' | 'bare';

export interface ServerStats {
  /** Seconds per request in the route, decode + handler (the `observe` callback); admission only. */
  handler: number[];
  /** Milliseconds per request from onRequest to onResponse (fastify's reply.elapsedTime): receiving and parsing the body, handler, serialize, write. */
  server: number[];
  /** Milliseconds per request from the body parsed (preValidation) to onResponse: handler, serialize, write. */
  afterParse: number[];
  requests: number;
  /** CPU time (user + system) of this process since the last reset, in microseconds. */
  cpuMicros: number;
  /** Main-thread garbage collection pauses since the last reset (perf_hooks 'gc' entries), in microseconds. */
  gcMicros: number;
  storeSize: number;
  rssBytes: number;
  hwmBytes: number;
  heapUsedBytes: number;
}

const [mode, tlsArg, maxEntriesArg, certDir] = process.argv.slice(2) as [ServerMode, string, string, string];
const MAX_BODY = 8 * 1024 * 1024; // the settings default
const logger = pino({ level: 'warn' });
const tls = tlsArg === 'tls' ? { certFile: join(certDir, 'webhook.crt'), keyFile: join(certDir, 'webhook.key') } : undefined;

let sampling = true;
let handler: number[] = [];
let server: number[] = [];
let afterParse: number[] = [];
let requests = 0;
let cpuAtReset = process.cpuUsage();
let gcMicros = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMicros += e.duration * 1000;
}).observe({ entryTypes: ['gc'] });
let store: CorrelationStore | undefined;

/** The production arrangement: the webhook's thread, the store here. Resolves with the port. */
async function buildThread(): Promise<{ port: number; close: () => Promise<void> }> {
  const metrics = createMetrics(new Registry());
  const correlations = new CorrelationStore({ ttlMs: 5 * 60_000, maxEntries: Number(maxEntriesArg), onEvict: (reason) => metrics.correlationEvictions.inc({ reason }) });
  store = correlations;
  const intern = authorInterner();
  const source = new URL('../../src/admission/webhook-thread.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })`;
  const thread = new WebhookThread({
    config: { host: '127.0.0.1', port: 0, ...(tls ? { tls } : {}), maxBodyBytes: MAX_BODY, maxRequestsPerConnection: 0, logLevel: 'warn', secretHashKey: randomBytes(32), excludeFields: [] },
    onReview: (outcome, seconds, records) => {
      requests++;
      metrics.webhookRequests.inc({ outcome });
      if (seconds > 0) metrics.webhookDuration.observe(seconds);
      if (sampling) handler.push(seconds);
      for (const [key, a] of records) {
        correlations.record(key, sharedAuthor(intern, a));
        metrics.correlationsStored.inc();
      }
    },
    onFailed: (err) => { console.error(err); process.exit(1); },
    logger,
    spawn: (config) => new Worker(boot, { eval: true, workerData: { kubescribeWebhook: config } }) as unknown as WebhookPort,
  });
  const port = await thread.listen();
  // As src/main.ts does once started (memory.optimizeForSize, on by default);
  // KS_BENCH_OPTIMIZE_FOR_SIZE=0 runs without it, for a before/after.
  optimizeForSize(process.env.KS_BENCH_OPTIMIZE_FOR_SIZE !== '0');
  return { port, close: () => thread.close(2000) };
}

async function build(): Promise<FastifyInstance> {
  if (mode === 'route') {
    const metrics = createMetrics(new Registry());
    const sanitizeOptions = compileSanitizeOptions({ secretKey: randomBytes(32) });
    const correlations = new CorrelationStore({ ttlMs: 5 * 60_000, maxEntries: Number(maxEntriesArg), onEvict: (reason) => metrics.correlationEvictions.inc({ reason }) });
    store = correlations;
    return buildWebhookServer({
      handler: createAdmissionHandler({ sink: correlations, fingerprint: (obj) => sanitizedContentHash(obj, sanitizeOptions), onRecord: () => metrics.correlationsStored.inc() }),
      tls,
      maxBodyBytes: MAX_BODY,
      logger,
      observe: (outcome, seconds) => {
        metrics.webhookRequests.inc({ outcome });
        if (seconds > 0) metrics.webhookDuration.observe(seconds);
        if (sampling) handler.push(seconds);
      },
    });
  }
  const https = tls ? { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) } : null;
  // The same fastify options as src/admission/server.ts (keep them in step), only the route differs.
  const app = Fastify({
    ...(https ? { https } : {}), loggerInstance: logger.child({ component: 'webhook' }), logController: new LogController({ disableRequestLogging: true }), bodyLimit: MAX_BODY, return503OnClosing: true,
    onProtoPoisoning: 'ignore', onConstructorPoisoning: 'ignore',
  }) as unknown as FastifyInstance;
  app.post('/admission', async (req) => {
    const uid = (req.body as { request?: { uid?: unknown } } | undefined)?.request?.uid;
    return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } };
  });
  return app;
}

function memory(): { rssBytes: number; hwmBytes: number; heapUsedBytes: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM'), heapUsedBytes: process.memoryUsage().heapUsed };
}

/** A server on this thread (route, bare), with the server-side times sampled; resolves with the port. */
async function serveHere(app: FastifyInstance): Promise<{ port: number; close: () => Promise<void> }> {
  const parsedAt = new WeakMap<object, number>();
  app.addHook('preValidation', async (req) => {
    if (sampling) parsedAt.set(req, performance.now());
  });
  app.addHook('onResponse', async (req, reply) => {
    requests++;
    if (!sampling) return;
    server.push(reply.elapsedTime);
    const t = parsedAt.get(req);
    if (t !== undefined) afterParse.push(performance.now() - t);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, close: () => app.close() };
}

const served = mode === 'admission' ? await buildThread() : await serveHere(await build());
const port = served.port;

process.on('message', (msg: { type: string; on?: boolean }) => {
  if (msg.type === 'stats' || msg.type === 'gc-stats') {
    // gc-stats: after a full collection (the process runs with --expose-gc), what is retained.
    const gc = (globalThis as { gc?: () => void }).gc;
    if (msg.type === 'gc-stats' && gc) { gc(); gc(); }
    const cpu = process.cpuUsage(cpuAtReset);
    const stats: ServerStats = { handler, server, afterParse, requests, cpuMicros: cpu.user + cpu.system, gcMicros, storeSize: store?.size ?? 0, ...memory() };
    process.send?.({ type: msg.type, stats });
  } else if (msg.type === 'reset') {
    handler = [];
    server = [];
    afterParse = [];
    requests = 0;
    cpuAtReset = process.cpuUsage();
    gcMicros = 0;
    process.send?.({ type: 'reset' });
  } else if (msg.type === 'sample') {
    sampling = msg.on ?? true;
    process.send?.({ type: 'sample' });
  } else if (msg.type === 'stop') {
    void served.close().then(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'listening', port });
