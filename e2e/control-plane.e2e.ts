// The local control plane works as a real cluster for kubescribe's purposes: users are who they
// say, and the real apiserver calls an HTTPS admission webhook (URL + caBundle) with their names.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCert } from './stack/pki.ts';
import { webhookConfiguration } from './stack/stack.ts';
import { eventually, freshNamespace, kubectl, stackEnv } from './support.ts';

interface Review { request: { uid: string; operation: string; dryRun?: boolean; userInfo: { username: string; groups?: string[] }; object?: { metadata?: { name?: string; uid?: string } } } }

describe('local control plane', () => {
  const reviews: Review[] = [];
  let server: Server;
  let ns: string;
  const vwcName = `e2e-probe-${process.pid}`;

  beforeAll(async () => {
    const env = stackEnv();
    const pki = join(env.stackDir, 'pki');
    const cert = await ensureCert(pki, { cert: env.apiserver.caFile, key: join(pki, 'ca.key') }, { name: 'probe-webhook', commonName: 'probe', usage: 'server', ips: ['127.0.0.1'] });
    server = createServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const review = JSON.parse(body) as Review;
        reviews.push(review);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } }));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    ns = await freshNamespace('cp');
    const vwc = webhookConfiguration(vwcName, `https://127.0.0.1:${port}/`, readFileSync(env.apiserver.caFile).toString('base64'), [{ group: '', version: 'v1', resource: 'configmaps' }], []) as { webhooks: Array<Record<string, unknown>> };
    vwc.webhooks[0]!.namespaceSelector = { matchLabels: { 'kubernetes.io/metadata.name': ns } };
    vwc.webhooks[0]!.name = 'probe.e2e.kubescribe.dev';
    await kubectl('admin', ['apply', '-f', '-'], JSON.stringify(vwc));
  });

  afterAll(async () => {
    await kubectl('admin', ['delete', 'validatingwebhookconfiguration', vwcName, '--ignore-not-found']).catch(() => undefined);
    server?.close();
  });

  it('gives each user a kubeconfig that authenticates as that user', async () => {
    for (const user of ['alice', 'bob', 'carol'] as const) {
      const out = await kubectl(user, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
      expect(out).toBe(user);
    }
    expect(await kubectl('admin', ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.groups}'])).toContain('system:masters');
  });

  it('lets alice, bob and carol edit but not administer', async () => {
    expect((await kubectl('carol', ['auth', 'can-i', 'delete', 'deployments', '-n', ns])).trim()).toBe('yes');
    await expect(kubectl('alice', ['create', 'clusterrole', 'nope', '--verb=get', '--resource=pods'])).rejects.toThrow(/forbidden/);
  });

  it('calls an HTTPS webhook registered by URL + caBundle with the requesting user', async () => {
    // The webhook configuration takes a moment to reach the apiserver's admission chain.
    await eventually('the probe webhook is called', async () => {
      await kubectl('admin', ['create', 'configmap', `warmup-${Date.now()}`, '-n', ns]);
      return reviews.length > 0;
    });
    for (const user of ['alice', 'bob', 'carol'] as const) {
      await kubectl(user, ['create', 'configmap', `by-${user}`, '-n', ns, '--from-literal=k=v']);
    }
    for (const user of ['alice', 'bob', 'carol'] as const) {
      const r = reviews.find((x) => x.request.object?.metadata?.name === `by-${user}`);
      expect(r?.request.userInfo.username).toBe(user);
      expect(r?.request.userInfo.groups).toContain('devs');
      expect(r?.request.dryRun).toBe(false);
      // kubescribe's correlation key relies on this: the uid is assigned before validating admission.
      expect(r?.request.object?.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('sends a server-side dry run with dryRun: true', async () => {
    await kubectl('alice', ['create', 'configmap', 'dry', '-n', ns, '--dry-run=server']);
    const r = reviews.find((x) => x.request.object?.metadata?.name === 'dry');
    expect(r?.request.dryRun).toBe(true);
    expect(r?.request.userInfo.username).toBe('alice');
    await expect(kubectl('alice', ['get', 'configmap', 'dry', '-n', ns])).rejects.toThrow(/NotFound|not found/);
  });
});
