import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { CorrelationStore, correlationKey, scaleContent } from '../correlation/index.ts';
import { buildWebhookServer } from './server.ts';
import { createAdmissionHandler } from './handler.ts';
import type { KubeObject } from '../kube-object.ts';

function review(overrides: Record<string, unknown> = {}, request: Record<string, unknown> = {}) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'req-1',
      operation: 'UPDATE',
      resource: { group: '', version: 'v1', resource: 'configmaps' },
      namespace: 'shop',
      name: 'settings',
      userInfo: { username: 'alice', uid: 'u-1', groups: ['devs'] },
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'shop', uid: 'obj-1', resourceVersion: '5' }, data: { a: '2' } },
      oldObject: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'shop', uid: 'obj-1', resourceVersion: '5' }, data: { a: '1' } },
      dryRun: false,
      ...request,
    },
    ...overrides,
  };
}

async function setup(opts: { maxBodyBytes?: number; throwing?: boolean } = {}) {
  const store = new CorrelationStore({ ttlMs: 60_000, maxEntries: 100 });
  const fingerprint = (o: KubeObject) => `hash(${JSON.stringify(o.data ?? null)})`;
  const handler = createAdmissionHandler({ sink: opts.throwing ? { record: () => { throw new Error('boom'); } } : store, fingerprint });
  const app = await buildWebhookServer({ handler, maxBodyBytes: opts.maxBodyBytes ?? 1 << 20, logger: pino({ level: 'silent' }) });
  return { app, store };
}

const updateKey = (hash: string) => correlationKey({ operation: 'UPDATE', group: '', resource: 'configmaps', namespace: 'shop', name: 'settings', uid: 'obj-1', oldResourceVersion: '5', contentHash: hash });

describe('admission route', () => {
  it('builds without a fastify deprecation warning (FSTDEP023: disableRequestLogging at the top level)', async () => {
    const codes: string[] = [];
    const onWarning = (w: Error & { code?: string }): void => { codes.push(w.code ?? w.name); };
    process.on('warning', onWarning);
    try {
      const { app } = await setup();
      await app.ready();
      // process.emitWarning emits on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      await app.close();
    } finally {
      process.off('warning', onWarning);
    }
    expect(codes.filter((c) => c.startsWith('FSTDEP'))).toEqual([]);
  });

  it('answers allowed with the request uid and records the author under the correlation key', async () => {
    const { app, store } = await setup();
    const res = await app.inject({ method: 'POST', url: '/admission', payload: review() });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'req-1', allowed: true } });
    expect(store.take(updateKey('hash({"a":"2"})'))).toEqual([{ username: 'alice', uid: 'u-1', groups: ['devs'] }]);
  });

  it('records nothing for a dry run, and still allows it', async () => {
    const { app, store } = await setup();
    const res = await app.inject({ method: 'POST', url: '/admission', payload: review({}, { dryRun: true }) });
    expect(res.json().response.allowed).toBe(true);
    expect(store.size).toBe(0);
  });

  it('keys a DELETE by the old object and a CREATE without an old resourceVersion', async () => {
    const { app, store } = await setup();
    await app.inject({ method: 'POST', url: '/admission', payload: review({}, { operation: 'DELETE', object: null }) });
    expect(store.take(correlationKey({ operation: 'DELETE', group: '', resource: 'configmaps', namespace: 'shop', name: 'settings', uid: 'obj-1', oldResourceVersion: '5', contentHash: 'hash({"a":"1"})' }))?.[0]?.username).toBe('alice');
    await app.inject({ method: 'POST', url: '/admission', payload: review({}, { operation: 'CREATE', oldObject: null }) });
    expect(store.take(correlationKey({ operation: 'CREATE', group: '', resource: 'configmaps', namespace: 'shop', name: 'settings', uid: 'obj-1', oldResourceVersion: '', contentHash: 'hash({"a":"2"})' }))?.[0]?.username).toBe('alice');
  });

  it('keys a Namespace as the cluster-scoped object the watch sees, though the review names it in request.namespace', async () => {
    const { app, store } = await setup();
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team', uid: 'ns-1', resourceVersion: '9' } };
    await app.inject({ method: 'POST', url: '/admission', payload: review({}, { operation: 'DELETE', resource: { group: '', version: 'v1', resource: 'namespaces' }, namespace: 'team', name: 'team', object: null, oldObject: ns }) });
    expect(store.take(correlationKey({ operation: 'DELETE', group: '', resource: 'namespaces', namespace: '', name: 'team', uid: 'ns-1', oldResourceVersion: '9', contentHash: 'hash(null)' }))?.[0]?.username).toBe('alice');
  });

  it('records a scale request by its replica count and ignores other subresources', async () => {
    const { app, store } = await setup();
    const scale = (replicas: number, rv: string) => ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'web', namespace: 'shop', uid: 'dep-1', resourceVersion: rv }, spec: { replicas } });
    await app.inject({ method: 'POST', url: '/admission', payload: review({}, { resource: { group: 'apps', version: 'v1', resource: 'deployments' }, subResource: 'scale', name: 'web', object: scale(3, '7'), oldObject: scale(1, '7') }) });
    expect(store.take(correlationKey({ operation: 'UPDATE', group: 'apps', resource: 'deployments', namespace: 'shop', name: 'web', uid: 'dep-1', oldResourceVersion: '7', contentHash: scaleContent(3) }))?.[0]?.username).toBe('alice');
    await app.inject({ method: 'POST', url: '/admission', payload: review({}, { subResource: 'status' }) });
    expect(store.size).toBe(0);
  });

  it('still allows the request when recording fails', async () => {
    const { app } = await setup({ throwing: true });
    const res = await app.inject({ method: 'POST', url: '/admission', payload: review() });
    expect(res.statusCode).toBe(200);
    expect(res.json().response.allowed).toBe(true);
  });

  describe.each([
    ['not JSON', '{"apiVersion":', 'application/json', 400, /./],
    ['an empty body', '', 'application/json', 400, /./],
    ['a JSON array', '[]', 'application/json', 400, /must be a JSON object/],
    ['the wrong apiVersion', JSON.stringify(review({ apiVersion: 'admission.k8s.io/v1beta1' })), 'application/json', 400, /apiVersion must be admission.k8s.io\/v1/],
    ['no request', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), 'application/json', 400, /request is missing/],
    ['no uid', JSON.stringify(review({}, { uid: undefined })), 'application/json', 400, /request.uid must be a string/],
    ['an unknown operation', JSON.stringify(review({}, { operation: 'PATCH' })), 'application/json', 400, /is not CREATE, UPDATE, DELETE or CONNECT/],
    ['groups that are not strings', JSON.stringify(review({}, { userInfo: { username: 'a', groups: [1] } })), 'application/json', 400, /groups must be a list of strings/],
    ['an object that is a string', JSON.stringify(review({}, { object: 'x' })), 'application/json', 400, /request.object must be an object/],
    ['a form body', 'a=1', 'application/x-www-form-urlencoded', 415, /./],
  ])('a body with %s', (_what, payload, contentType, status, message) => {
    it(`gets ${status} with a clear message and a stable code`, async () => {
      const { app, store } = await setup();
      const res = await app.inject({ method: 'POST', url: '/admission', payload, headers: { 'content-type': contentType } });
      expect(res.statusCode).toBe(status);
      expect(res.json().code).toMatch(/^KUBESCRIBE_ERR_ADMISSION_/);
      expect(res.json().message).toMatch(message);
      expect(store.size).toBe(0);
    });
  });

  it('answers 413 to a body over the size cap', async () => {
    const { app } = await setup({ maxBodyBytes: 1024 });
    const res = await app.inject({ method: 'POST', url: '/admission', payload: review({}, { object: { metadata: {}, data: { big: 'x'.repeat(4096) } } }) });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('KUBESCRIBE_ERR_ADMISSION_TOO_LARGE');
  });
});

describe('webhook connections', () => {
  /** Sends n reviews one after another over a keep-alive agent; the connections the server saw and the answers' Connection headers. */
  async function sendOverKeepAlive(opts: { maxRequestsPerConnection?: number; leaving?: () => boolean }, n: number): Promise<{ connections: number; closeHeaders: number }> {
    const { Agent, request } = await import('node:http');
    const store = new CorrelationStore({ ttlMs: 60_000, maxEntries: 100 });
    const handler = createAdmissionHandler({ sink: store, fingerprint: () => 'h' });
    const app = await buildWebhookServer({ handler, maxBodyBytes: 1 << 20, logger: pino({ level: 'silent' }), ...opts });
    let connections = 0;
    app.server.on('connection', () => { connections++; });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as { port: number }).port;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    let closeHeaders = 0;
    try {
      for (let i = 0; i < n; i++) {
        const body = JSON.stringify(review({}, { uid: `r-${i}` }));
        await new Promise<void>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, path: '/admission', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
            if (res.headers.connection === 'close') closeHeaders++;
            res.resume().on('end', resolve).on('error', reject);
          });
          req.on('error', reject).end(body);
        });
      }
    } finally {
      agent.destroy();
      await app.close();
    }
    return { connections, closeHeaders };
  }

  it('keeps one connection without a limit, and closes it after maxRequestsPerConnection reviews', async () => {
    expect(await sendOverKeepAlive({}, 6)).toEqual({ connections: 1, closeHeaders: 0 });
    expect((await sendOverKeepAlive({ maxRequestsPerConnection: 2 }, 6)).connections).toBe(3);
  });

  it('closes the connection of every answer while leaving, so the caller picks another replica', async () => {
    let leaving = false;
    expect(await sendOverKeepAlive({ leaving: () => leaving }, 2)).toEqual({ connections: 1, closeHeaders: 0 });
    leaving = true;
    expect(await sendOverKeepAlive({ leaving: () => leaving }, 3)).toEqual({ connections: 3, closeHeaders: 3 });
  });
});
