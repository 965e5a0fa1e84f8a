import { execFile } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { CorrelationStore, correlationKey, type Author } from '../correlation/index.ts';
import { PEER_PATH, PEER_SECRET_HEADER, storePeerAnswers, type PeerCall } from '../peers/index.ts';
import { compileSanitizeOptions, sanitizedContentHash } from '../sanitize/index.ts';
import { inProcessWebhook, WebhookThread, type WebhookPort } from './thread.ts';
import type { WebhookThreadConfig } from './thread-protocol.ts';

const secretHashKey = Buffer.from('k'.repeat(32));
const config: WebhookThreadConfig = { host: '127.0.0.1', port: 0, maxBodyBytes: 1 << 20, maxRequestsPerConnection: 0, logLevel: 'silent', secretHashKey, excludeFields: [], peerSecret: 'p'.repeat(16) };
const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'shop', uid: 'obj-1', resourceVersion: '5' }, data: { a: '2' } };
const body = JSON.stringify({
  apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
  request: {
    uid: 'req-1', operation: 'UPDATE', resource: { group: '', version: 'v1', resource: 'configmaps' }, namespace: 'shop', name: 'settings',
    userInfo: { username: 'alice', uid: 'u-1', groups: ['devs'] }, object, oldObject: { ...object, data: { a: '1' } }, dryRun: false,
  },
});
// The key the watch will build for this change: the webhook's thread must compute exactly this one.
const expectedKey = correlationKey({ operation: 'UPDATE', group: '', resource: 'configmaps', namespace: 'shop', name: 'settings', uid: 'obj-1', oldResourceVersion: '5', contentHash: sanitizedContentHash(object, compileSanitizeOptions({ secretKey: secretHashKey })) });

function mainSide(spawn: (c: WebhookThreadConfig) => WebhookPort, answerPeer?: (call: PeerCall) => ReturnType<ReturnType<typeof storePeerAnswers>>) {
  const reviews: Array<{ outcome: string; records: Array<[string, Author]> }> = [];
  const failures: Error[] = [];
  const thread = new WebhookThread({
    config, spawn, logger: pino({ level: 'silent' }),
    onReview: (outcome, _s, records) => reviews.push({ outcome, records }),
    onFailed: (err) => failures.push(err),
    ...(answerPeer ? { answerPeer } : {}),
  });
  return { thread, reviews, failures };
}

describe('the webhook thread', () => {
  it('answers reviews and sends each one\'s records, in order; passes peer calls to the store\'s side; reports its loop delay; closes', async () => {
    const store = new CorrelationStore({ ttlMs: 60_000, maxEntries: 100 });
    store.record('k-held', { username: 'bob', groups: [] });
    const calls: PeerCall[] = [];
    const answer = storePeerAnswers({ store });
    // webhook.ownThread false: the same server and messages on this thread.
    const { thread, reviews } = mainSide(inProcessWebhook, (call) => { calls.push(call); return answer(call); });
    const port = await thread.listen();
    const base = `http://127.0.0.1:${port}`;
    try {
      const r = await fetch(`${base}/admission`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(r.status).toBe(200);
      expect(((await r.json()) as { response: { allowed: boolean } }).response.allowed).toBe(true);
      const bad = await fetch(`${base}/admission`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"kind":"nope"}' });
      expect(bad.status).toBe(400);
      await expect.poll(() => reviews.length).toBe(2);
      expect(reviews[0]).toEqual({ outcome: 'recorded', records: [[expectedKey, { username: 'alice', uid: 'u-1', groups: ['devs'] }]] });
      expect(reviews[1]).toEqual({ outcome: 'malformed', records: [] });

      const pulled = await fetch(`${base}${PEER_PATH}`, { headers: { [PEER_SECRET_HEADER]: config.peerSecret as string } });
      expect(pulled.status).toBe(200);
      expect(((await pulled.json()) as { entries: unknown[] }).entries).toEqual([['k-held', [{ username: 'bob', groups: [] }]]]);
      const refused = await fetch(`${base}${PEER_PATH}`, { headers: { [PEER_SECRET_HEADER]: 'wrong'.repeat(4) } });
      expect(refused.status).toBe(401);
      expect(calls).toEqual([{ op: 'pull', query: {} }]); // the refused one never reached the store

      const loop = await thread.loopDelay();
      expect(loop.maxSeconds).toBeGreaterThan(0);
      expect(loop.p99Seconds).toBeLessThanOrEqual(loop.maxSeconds);
    } finally {
      await thread.close(1000);
    }
    await expect(fetch(`${base}/admission`, { method: 'POST', body })).rejects.toThrow();
  });

  it('on a thread of its own: answers while the main thread is blocked, and the records arrive after', async () => {
    // The sources, through tsx's loader (the bundle's dist/webhook-thread.mjs is what production runs).
    const source = new URL('./webhook-thread.ts', import.meta.url).href;
    const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })`;
    const { thread, reviews, failures } = mainSide((c) => new Worker(boot, { eval: true, workerData: { kubescribeWebhook: c } }) as unknown as WebhookPort);
    const port = await thread.listen();
    try {
      // curl in another process, so that nothing on this thread has to run for the answer.
      const answered = new Promise<string>((resolve, reject) => execFile('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{time_total}', '-H', 'content-type: application/json', '--data-binary', body, `http://127.0.0.1:${port}/admission`], (err, out) => (err ? reject(err) : resolve(out))));
      const until = Date.now() + 1500;
      while (Date.now() < until) { /* the main event loop blocked, as by a long commit or a full GC */ }
      expect(reviews).toEqual([]); // not delivered while blocked
      const [status, seconds] = (await answered).split(' ');
      expect(status).toBe('200');
      expect(Number(seconds)).toBeLessThan(1); // answered by the webhook's thread during the block
      await expect.poll(() => reviews.length).toBe(1);
      expect(reviews[0]?.records[0]?.[0]).toBe(expectedKey);
    } finally {
      await thread.close(1000);
    }
    expect(failures).toEqual([]);
  });
});
