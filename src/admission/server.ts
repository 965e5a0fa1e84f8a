// Builds the webhook's fastify app over TLS (factory, started separately, so tests can inject).
// The serving certificate is read from files and reloaded when they change (cert rotation).
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { admissionRoutes, type AdmissionRoutesOptions } from './routes.ts';

export interface WebhookServerOptions extends AdmissionRoutesOptions {
  tls?: { certFile: string; keyFile: string };
  maxBodyBytes: number;
  /** Reviews one connection carries before the server closes it (0: no limit); see the schema. */
  maxRequestsPerConnection?: number;
  /** While true every answer closes its connection: the caller reconnects to another replica. */
  leaving?: () => boolean;
  logger: Logger;
}

export async function buildWebhookServer(opts: WebhookServerOptions): Promise<FastifyInstance> {
  const https = opts.tls ? { cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) } : null;
  const app = Fastify({
    ...(https ? { https } : {}),
    loggerInstance: opts.logger.child({ component: 'webhook' }),
    // Through a LogController: the top-level option is deprecated (FSTDEP023, a warning at start-up).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.maxBodyBytes,
    maxRequestsPerSocket: opts.maxRequestsPerConnection ?? 0,
    return503OnClosing: true,
    // `__proto__` and `constructor` are valid keys of a ConfigMap's data: refusing them (fastify's
    // default) would let anyone record a change as unknown. JSON.parse keeps them as plain own
    // properties, and everything downstream copies objects without touching prototypes.
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
  }) as unknown as FastifyInstance;
  await app.register(admissionRoutes, { handler: opts.handler, path: opts.path, observe: opts.observe });
  const leaving = opts.leaving;
  if (leaving) {
    app.addHook('onSend', async (_req, reply) => {
      if (leaving()) reply.header('connection', 'close');
    });
  }
  if (opts.tls) {
    const { certFile, keyFile } = opts.tls;
    const reload = (): void => {
      try {
        (app.server as unknown as import('node:tls').Server).setSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
        app.log.info({ certFile }, 'reloaded webhook serving certificate');
      } catch (err) {
        app.log.error({ err, certFile }, 'could not reload webhook serving certificate; keeping the old one');
      }
    };
    // Both files: a rotation may write the certificate before the key (the first reload then
    // fails and keeps the old pair; the key's change reloads again).
    watchFile(certFile, { interval: 2000 }, reload);
    watchFile(keyFile, { interval: 2000 }, reload);
    app.addHook('onClose', async () => {
      unwatchFile(certFile, reload);
      unwatchFile(keyFile, reload);
    });
  }
  return app;
}
