// The webhook's own thread (worker_threads; bundled as dist/webhook-thread.mjs). It serves the TLS
// port the apiserver calls: decodes each review, computes its correlation key and author, and
// answers `allowed` — while the main thread's event loop may be busy with the watch and Git (a
// commit, a large list, the full GC after a snapshot). What it records goes to the main thread,
// which holds the correlation store, in one message a review, posted before the answer is sent.
// Peer requests on the same port are passed to the main thread and answered with what it returns.
// The protocol (both directions) is in thread-protocol.ts; the main side is thread.ts.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { FastifyInstance } from 'fastify';
import type { Author } from '../correlation/index.ts';
import { createLogger } from '../logger.ts';
import { peerRoutes, type PeerReply } from '../peers/index.ts';
import { compileSanitizeOptions, sanitizedContentHash } from '../sanitize/index.ts';
import { createAdmissionHandler } from './handler.ts';
import { closeWithin } from './close-within.ts';
import { buildWebhookServer } from './server.ts';
import type { FromWebhook, ToWebhook, WebhookThreadConfig } from './thread-protocol.ts';

/** Port: the worker's parentPort, or one end of a MessageChannel in a test. */
export async function serveWebhook(port: MessagePort, config: WebhookThreadConfig): Promise<FastifyInstance> {
  const post = (m: FromWebhook): void => port.postMessage(m);
  const logger = createLogger(config.logLevel);
  const sanitizeOptions = compileSanitizeOptions({ secretKey: Buffer.from(config.secretHashKey), ...(config.excludeFields ? { excludeFields: config.excludeFields } : {}) });
  let leaving = false;
  // Recorded by the review being handled; sent with its outcome, synchronously, before the answer.
  let records: Array<[string, Author]> = [];
  const peerCalls = new Map<number, (r: PeerReply) => void>();
  let nextCall = 0;

  const webhook = await buildWebhookServer({
    handler: createAdmissionHandler({
      sink: { record: (key, author) => { records.push([key, author]); } },
      fingerprint: (obj) => sanitizedContentHash(obj, sanitizeOptions),
    }),
    ...(config.tls ? { tls: config.tls } : {}),
    ...(config.path ? { path: config.path } : {}),
    maxBodyBytes: config.maxBodyBytes,
    maxRequestsPerConnection: config.maxRequestsPerConnection,
    leaving: () => leaving,
    logger,
    observe: (outcome, seconds) => {
      post({ t: 'review', outcome, seconds, records });
      records = [];
    },
  });
  if (config.peerSecret) {
    await webhook.register(peerRoutes({
      secret: config.peerSecret,
      answer: (call) => new Promise<PeerReply>((resolve) => {
        const id = nextCall++;
        peerCalls.set(id, resolve);
        post({ t: 'peer', id, call });
      }),
    }));
  }

  // What admission itself waits for: this thread's event-loop delay, reset at every read (scrape).
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();

  const handle = async (m: ToWebhook): Promise<void> => {
    switch (m.t) {
      case 'peer':
        peerCalls.get(m.id)?.(m.reply);
        peerCalls.delete(m.id);
        return;
      case 'leaving':
        leaving = m.value;
        return;
      case 'listen':
        try {
          await webhook.listen({ host: config.host, port: config.port });
          const address = webhook.server.address();
          post({ t: 'done', id: m.id, value: typeof address === 'object' && address ? address.port : config.port });
        } catch (err) {
          post({ t: 'done', id: m.id, error: { message: (err as Error).message, code: (err as NodeJS.ErrnoException).code } });
        }
        return;
      case 'loop': {
        const value = { maxSeconds: delay.max / 1e9, p99Seconds: delay.percentile(99) / 1e9 };
        delay.reset();
        post({ t: 'done', id: m.id, value });
        return;
      }
      case 'close':
        await closeWithin(webhook, m.ms);
        delay.disable();
        post({ t: 'done', id: m.id });
        port.close();
        return;
    }
  };
  port.on('message', (m: ToWebhook) => void handle(m));
  return webhook;
}

if (!isMainThread && parentPort && (workerData as { kubescribeWebhook?: WebhookThreadConfig } | undefined)?.kubescribeWebhook) {
  await serveWebhook(parentPort, (workerData as { kubescribeWebhook: WebhookThreadConfig }).kubescribeWebhook);
}
