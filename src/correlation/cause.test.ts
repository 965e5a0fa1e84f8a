// Causes: the webhook remembers a user's deletion, the watch finds it for a controller's deletions
// (without consuming it) and passes it on to dependents of dependents.
import { describe, expect, it } from 'vitest';
import { createAdmissionHandler } from '../admission/handler.ts';
import type { AdmissionRequest } from '../admission/review.ts';
import { attributeCause, GARBAGE_COLLECTOR, NAMESPACE_CONTROLLER, namespaceCauseKey, objectCauseKey, type DeletionChange } from './cause.ts';
import { CorrelationStore } from './store.ts';

const store = (): CorrelationStore => new CorrelationStore({ ttlMs: 60_000, maxEntries: 100 });

function deleteReview(username: string, resource: { group: string; version: string; resource: string }, namespace: string, name: string, uid: string): AdmissionRequest {
  const oldObject = { metadata: { ...(namespace ? { namespace } : {}), name, uid, resourceVersion: '7' } };
  return { uid: 'r', operation: 'DELETE', resource, namespace, name, userInfo: { username, uid: `${username}-uid`, groups: ['devs'] }, object: null, oldObject, dryRun: false };
}

const NAMESPACES = { group: '', version: 'v1', resource: 'namespaces' };
const DEPLOYMENTS = { group: 'apps', version: 'v1', resource: 'deployments' };

function handlerInto(s: CorrelationStore): { handle: (r: AdmissionRequest) => void; pushed: string[] } {
  const pushed: string[] = [];
  const h = createAdmissionHandler({ sink: s, fingerprint: () => 'h', onRecord: (key) => pushed.push(key) });
  return { handle: (r) => h.handle(r), pushed };
}

const deletion = (username: string, namespace: string, uid: string, ownerUids?: string[]): DeletionChange =>
  ({ operation: 'DELETE', author: { username, groups: [] }, namespace, uid, ...(ownerUids ? { ownerUids } : {}) });

describe('causes', () => {
  it('the webhook remembers who deleted a namespace (by name) and an object (by uid), and hands both to the peers', () => {
    const s = store();
    const { handle, pushed } = handlerInto(s);
    handle(deleteReview('bob', NAMESPACES, 'shop', 'shop', 'ns-uid'));
    handle(deleteReview('alice', DEPLOYMENTS, 'shop', 'web', 'd-uid'));
    expect(s.peek(namespaceCauseKey('shop'))).toEqual([{ username: 'bob', uid: 'bob-uid', groups: ['devs'], deleted: 'namespace shop' }]);
    expect(s.peek(objectCauseKey('d-uid'))).toEqual([{ username: 'alice', uid: 'alice-uid', groups: ['devs'], deleted: 'deployments shop/web' }]);
    expect(pushed).toContain(namespaceCauseKey('shop'));
    expect(pushed).toContain(objectCauseKey('d-uid'));
  });

  it('the webhook records no cause for a controller\'s own deletions, nor for dry runs or updates', () => {
    const s = store();
    const { handle } = handlerInto(s);
    handle(deleteReview(GARBAGE_COLLECTOR, DEPLOYMENTS, 'shop', 'web', 'd-uid'));
    handle(deleteReview(NAMESPACE_CONTROLLER, DEPLOYMENTS, 'shop', 'api', 'a-uid'));
    handle({ ...deleteReview('alice', DEPLOYMENTS, 'shop', 'x', 'x-uid'), dryRun: true });
    handle({ ...deleteReview('alice', DEPLOYMENTS, 'shop', 'y', 'y-uid'), operation: 'UPDATE', object: { metadata: { name: 'y', namespace: 'shop', uid: 'y-uid' } } });
    expect(s.entries().filter(([k]) => k.startsWith('CAUSE'))).toEqual([]);
  });

  it('names the namespace\'s deleter on every deletion by the namespace controller there, without consuming the cause', () => {
    const s = store();
    handlerInto(s).handle(deleteReview('bob', NAMESPACES, 'shop', 'shop', 'ns-uid'));
    const a = deletion(NAMESPACE_CONTROLLER, 'shop', 'cm-a');
    const b = deletion(NAMESPACE_CONTROLLER, 'shop', 'cm-b');
    attributeCause(s, a);
    attributeCause(s, b);
    expect(a.cause).toEqual({ users: ['bob'], deleted: 'namespace shop', controller: 'namespace controller' });
    expect(b.cause).toEqual(a.cause);
    const elsewhere = deletion(NAMESPACE_CONTROLLER, 'other', 'cm-c');
    attributeCause(s, elsewhere);
    expect(elsewhere.cause).toBeUndefined();
  });

  it('gives no cause to anyone else\'s deletion, nor to a controller\'s without a recorded cause', () => {
    const s = store();
    handlerInto(s).handle(deleteReview('bob', NAMESPACES, 'shop', 'shop', 'ns-uid'));
    const byCarol = deletion('carol', 'shop', 'cm-a', ['d-uid']);
    attributeCause(s, byCarol);
    expect(byCarol.cause).toBeUndefined();
    const orphan = deletion(GARBAGE_COLLECTOR, 'shop', 'rs-1', ['unknown-owner']);
    attributeCause(s, orphan);
    expect(orphan.cause).toBeUndefined();
    const noAuthor: DeletionChange = { operation: 'DELETE', namespace: 'shop', uid: 'cm-b' };
    attributeCause(s, noAuthor);
    expect(noAuthor.cause).toBeUndefined();
  });

  it('follows owners through the garbage collector, transitively: Deployment → ReplicaSet → Pod', () => {
    const s = store();
    handlerInto(s).handle(deleteReview('alice', DEPLOYMENTS, 'shop', 'web', 'd-uid'));
    const rs = deletion(GARBAGE_COLLECTOR, 'shop', 'rs-uid', ['other-owner', 'd-uid']);
    attributeCause(s, rs);
    expect(rs.cause).toEqual({ users: ['alice'], deleted: 'deployments shop/web', controller: 'garbage collector' });
    const pod = deletion(GARBAGE_COLLECTOR, 'shop', 'pod-uid', ['rs-uid']);
    attributeCause(s, pod);
    expect(pod.cause).toEqual(rs.cause);
  });

  it('passes a namespace\'s cause on to what the garbage collector deletes after the namespace controller', () => {
    const s = store();
    handlerInto(s).handle(deleteReview('bob', NAMESPACES, 'shop', 'shop', 'ns-uid'));
    attributeCause(s, deletion(NAMESPACE_CONTROLLER, 'shop', 'd-uid'));
    const rs = deletion(GARBAGE_COLLECTOR, 'shop', 'rs-uid', ['d-uid']);
    attributeCause(s, rs);
    expect(rs.cause).toEqual({ users: ['bob'], deleted: 'namespace shop', controller: 'garbage collector' });
  });

  it('names every user who deleted the same thing, never one of them at random', () => {
    const s = store();
    const { handle } = handlerInto(s);
    handle(deleteReview('bob', NAMESPACES, 'shop', 'shop', 'ns-uid'));
    handle(deleteReview('carol', NAMESPACES, 'shop', 'shop', 'ns-uid'));
    const cm = deletion(NAMESPACE_CONTROLLER, 'shop', 'cm-a');
    attributeCause(s, cm);
    expect(cm.cause?.users).toEqual(['bob', 'carol']);
  });

  it('a cause never answers a correlation lookup, and expires with the correlation TTL', async () => {
    const evicted: string[] = [];
    const s = new CorrelationStore({ ttlMs: 30, maxEntries: 100, onEvict: (r) => evicted.push(r) });
    handlerInto(s).handle(deleteReview('bob', NAMESPACES, 'shop', 'shop', 'ns-uid'));
    expect(s.takeStartingWith('DELETE')?.map((a) => a.deleted)).toEqual([undefined]); // the request's own correlation only
    expect(s.peek(namespaceCauseKey('shop'))).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 60));
    expect(s.peek(namespaceCauseKey('shop'))).toBeUndefined();
    expect(evicted).toEqual([]); // its expiry is not a correlation missed (kubescribe_correlation_evictions_total)
  });
});
