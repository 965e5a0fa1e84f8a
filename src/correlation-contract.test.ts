// The one contract between the webhook and the watch: the same change, seen by the admission
// handler (an AdmissionReview) and by the change detector (a watch event), must give the same
// correlation key — or every change of that shape goes unattributed. Both paths use the real
// sanitizer and the one key builder (src/correlation/key.ts); only the transport is left out.
import { describe, expect, it } from 'vitest';
import { createAdmissionHandler } from './admission/index.ts';
import type { AdmissionRequest } from './admission/review.ts';
import { CorrelationStore } from './correlation/index.ts';
import type { KubeObject, ResourceType } from './kube-object.ts';
import { compileSanitizeOptions, contentHash, sanitize, sanitizedContentHash } from './sanitize/index.ts';
import { ChangeDetector } from './watch/index.ts';

const options = compileSanitizeOptions({ secretKey: Buffer.alloc(32, 7), excludeFields: [] });
const prepare = (o: KubeObject) => { const s = sanitize(o, options); return { sanitized: s, hash: contentHash(s) }; };

function paths(type: ResourceType) {
  const store = new CorrelationStore({ ttlMs: 60_000, maxEntries: 100 });
  const handler = createAdmissionHandler({ sink: store, fingerprint: (o) => sanitizedContentHash(o, options) });
  const detector = new ChangeDetector(type, prepare, store);
  const review = (user: string, r: Partial<AdmissionRequest> & Pick<AdmissionRequest, 'operation'>): void => {
    expect(handler.handle({ uid: 'r', resource: type, namespace: '', name: '', userInfo: { username: user, groups: [] }, object: null, oldObject: null, dryRun: false, ...r })).toBe('recorded');
  };
  return { review, detector };
}

const configMap = (rv: string, data: Record<string, string>, meta: Record<string, unknown> = {}): KubeObject =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'shop', uid: 'u-cm', resourceVersion: rv, managedFields: [{ manager: 'kubectl' }], ...meta }, data });

describe('the webhook and the watch build the same correlation key', () => {
  it('create, update and delete of a namespaced object', () => {
    const { review, detector } = paths({ group: '', version: 'v1', resource: 'configmaps' });
    // The webhook sees the object before the apiserver writes it: no resourceVersion on a create.
    review('alice', { operation: 'CREATE', namespace: 'shop', name: 'app', object: configMap('', { a: '1' }) });
    review('bob', { operation: 'UPDATE', namespace: 'shop', name: 'app', object: configMap('10', { a: '2' }), oldObject: configMap('10', { a: '1' }) });
    review('carol', { operation: 'DELETE', namespace: 'shop', name: 'app', oldObject: configMap('11', { a: '2' }) });
    const changes = [
      ...detector.observe('ADDED', configMap('10', { a: '1' })),
      ...detector.observe('MODIFIED', configMap('11', { a: '2' })),
      ...detector.observe('DELETED', configMap('12', { a: '2' })),
    ];
    expect(changes.map((c) => [c.operation, c.author?.username])).toEqual([['CREATE', 'alice'], ['UPDATE', 'bob'], ['DELETE', 'carol']]);
  });

  it('a Namespace: the review names it in request.namespace, the watch sees a cluster-scoped object', () => {
    const { review, detector } = paths({ group: '', version: 'v1', resource: 'namespaces' });
    const ns = (rv: string, labels: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', uid: 'u-ns', resourceVersion: rv, labels } });
    review('alice', { operation: 'CREATE', namespace: 'team-a', name: 'team-a', object: ns('', { tier: 'gold' }) });
    review('bob', { operation: 'UPDATE', namespace: 'team-a', name: 'team-a', object: ns('5', { tier: 'silver' }), oldObject: ns('5', { tier: 'gold' }) });
    const changes = [...detector.observe('ADDED', ns('5', { tier: 'gold' })), ...detector.observe('MODIFIED', ns('6', { tier: 'silver' }))];
    expect(changes.map((c) => c.author?.username)).toEqual(['alice', 'bob']);
  });

  it('kubectl scale: the review carries a Scale, the watch the Deployment with the new replica count', () => {
    const { review, detector } = paths({ group: 'apps', version: 'v1', resource: 'deployments' });
    const deploy = (rv: string, replicas: number): KubeObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop', uid: 'u-d', resourceVersion: rv }, spec: { replicas } });
    const scale = (rv: string, replicas: number): KubeObject => ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'web', namespace: 'shop', uid: 'u-d', resourceVersion: rv }, spec: { replicas } });
    detector.observe('ADDED', deploy('20', 1));
    review('dave', { operation: 'UPDATE', subResource: 'scale', namespace: 'shop', name: 'web', object: scale('20', 4), oldObject: scale('20', 1) });
    expect(detector.observe('MODIFIED', deploy('21', 4))[0]?.author?.username).toBe('dave');
  });

  it('a different content or an older version never matches', () => {
    const { review, detector } = paths({ group: '', version: 'v1', resource: 'configmaps' });
    detector.observe('ADDED', configMap('10', { a: '1' }));
    review('mallory', { operation: 'UPDATE', namespace: 'shop', name: 'app', object: configMap('9', { a: '2' }), oldObject: configMap('9', { a: '1' }) });
    review('eve', { operation: 'UPDATE', namespace: 'shop', name: 'app', object: configMap('10', { a: '3' }), oldObject: configMap('10', { a: '1' }) });
    expect(detector.observe('MODIFIED', configMap('11', { a: '2' }))[0]?.author).toBeUndefined();
  });
});
