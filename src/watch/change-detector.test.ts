import { describe, expect, it } from 'vitest';
import { CorrelationStore, correlationKey, scaleContent } from '../correlation/index.ts';
import type { KubeObject } from '../kube-object.ts';
import { ChangeDetector } from './change-detector.ts';

const type = { group: 'apps', version: 'v1', resource: 'deployments' };
const obj = (rv: string, spec: Record<string, unknown>, extra: Record<string, unknown> = {}): KubeObject =>
  ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop', uid: 'u1', resourceVersion: rv }, spec, ...extra }) as KubeObject;
// A stand-in for sanitize + hash: status and resourceVersion do not count.
const prepare = (o: KubeObject) => ({ sanitized: { spec: o.spec } as KubeObject, hash: JSON.stringify(o.spec) });
const key = (operation: 'CREATE' | 'UPDATE' | 'DELETE', oldRv: string, spec: unknown) =>
  correlationKey({ operation, group: 'apps', resource: 'deployments', namespace: 'shop', name: 'web', uid: 'u1', oldResourceVersion: oldRv, contentHash: JSON.stringify(spec) });

function setup() {
  const store = new CorrelationStore({ ttlMs: 60_000, maxEntries: 100 });
  const d = new ChangeDetector(type, prepare, store);
  return { store, d };
}

describe('change detector', () => {
  it('turns create, update and delete into changes with the author of the matching correlation', () => {
    const { store, d } = setup();
    store.record(key('CREATE', '', { replicas: 1 }), { username: 'alice', groups: [] });
    store.record(key('UPDATE', '1', { replicas: 2 }), { username: 'bob', groups: [] });
    store.record(key('DELETE', '2', { replicas: 2 }), { username: 'carol', groups: [] });
    const c1 = d.observe('ADDED', obj('1', { replicas: 1 }));
    const c2 = d.observe('MODIFIED', obj('2', { replicas: 2 }));
    const c3 = d.observe('DELETED', obj('3', { replicas: 2 }));
    expect([...c1, ...c2, ...c3].map((c) => [c.operation, c.author?.username, c.resourceVersion])).toEqual([
      ['CREATE', 'alice', '1'], ['UPDATE', 'bob', '2'], ['DELETE', 'carol', '3'],
    ]);
    expect(d.size).toBe(0);
  });

  it('drops status-only and no-op updates but follows their resourceVersion', () => {
    const { store, d } = setup();
    d.observe('ADDED', obj('1', { replicas: 1 }));
    expect(d.observe('MODIFIED', obj('2', { replicas: 1 }, { status: { replicas: 1 } }))).toEqual([]);
    store.record(key('UPDATE', '2', { replicas: 5 }), { username: 'bob', groups: [] });
    expect(d.observe('MODIFIED', obj('3', { replicas: 5 }))[0]?.author?.username).toBe('bob');
  });

  it('records an unknown author on a miss, never a guess from another version', () => {
    const { store, d } = setup();
    d.observe('ADDED', obj('1', { replicas: 1 }));
    store.record(key('UPDATE', '9', { replicas: 2 }), { username: 'mallory', groups: [] }); // another old version
    const [c] = d.observe('MODIFIED', obj('2', { replicas: 2 }));
    expect(c?.author).toBeUndefined();
  });

  it('matches a scale request by the new replica count', () => {
    const { store, d } = setup();
    d.observe('ADDED', obj('1', { replicas: 1, template: {} }));
    store.record(correlationKey({ operation: 'UPDATE', group: 'apps', resource: 'deployments', namespace: 'shop', name: 'web', uid: 'u1', oldResourceVersion: '1', contentHash: scaleContent(4) }), { username: 'bob', groups: [] });
    expect(d.observe('MODIFIED', obj('2', { replicas: 4, template: {} }))[0]?.author?.username).toBe('bob');
  });

  it('diffs a relist against what it knew: updates, creates and deletes missed meanwhile', () => {
    const { d } = setup();
    const other = (name: string, rv: string): KubeObject => ({ metadata: { name, namespace: 'shop', uid: `uid-${name}`, resourceVersion: rv }, spec: { n: name } });
    d.observe('ADDED', other('a', '1'));
    d.observe('ADDED', other('b', '2'));
    const changes = d.relist([{ ...other('a', '5'), spec: { n: 'changed' } }, other('c', '6')].map((obj) => ({ obj, prepared: prepare(obj) })));
    expect(changes.map((c) => `${c.operation} ${c.name}`).sort()).toEqual(['CREATE c', 'DELETE b', 'UPDATE a']);
  });

  it('records a delete and a create when an object was re-created under the same name', () => {
    const { d } = setup();
    d.observe('ADDED', obj('1', { replicas: 1 }));
    const recreated = obj('9', { replicas: 1 });
    recreated.metadata!.uid = 'u2';
    expect(d.observe('ADDED', recreated).map((c) => c.operation)).toEqual(['DELETE', 'CREATE']);
  });
});

describe('change detector: attribution truth (issue 12)', () => {
  const held = (rv: string, spec: Record<string, unknown>, finalizers: string[], deleting = false): KubeObject =>
    ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop', uid: 'u1', resourceVersion: rv, finalizers, ...(deleting ? { deletionTimestamp: '2026-12-05T12:00:00Z' } : {}) }, spec }) as KubeObject;
  // Like sanitize: the finalizers and deletionTimestamp count, the resourceVersion does not.
  const prep = (o: KubeObject) => {
    const m = o.metadata as { finalizers?: string[]; deletionTimestamp?: string };
    const sanitized = { spec: o.spec, finalizers: m.finalizers, deleting: m.deletionTimestamp } as unknown as KubeObject;
    return { sanitized, hash: JSON.stringify(sanitized) };
  };
  const k = (operation: 'UPDATE' | 'DELETE', oldRv: string, o: KubeObject) =>
    correlationKey({ operation, group: 'apps', resource: 'deployments', namespace: 'shop', name: 'web', uid: 'u1', oldResourceVersion: oldRv, contentHash: prep(o).hash });

  it('a deletion held by a finalizer is authored by who asked for it, at once and when it completes; the releaser is named', () => {
    const store = new CorrelationStore({ ttlMs: 60_000, maxEntries: 100 });
    const d = new ChangeDetector(type, prep, store);
    const before = held('1', { replicas: 1 }, ['example.com/hold']);
    d.observe('ADDED', before);
    store.record(k('DELETE', '1', before), { username: 'bob', groups: [] });
    const terminating = held('2', { replicas: 1 }, ['example.com/hold'], true);
    const [requested] = d.observe('MODIFIED', terminating);
    expect(requested).toMatchObject({ operation: 'DELETE', deletion: 'requested', author: { username: 'bob' }, resourceVersion: '2' });
    // carol removes the finalizer; the apiserver deletes instead of writing her version, and the
    // DELETED event carries the version before (finalizer still listed).
    store.record(k('UPDATE', '2', held('3', { replicas: 1 }, [], true)), { username: 'carol', groups: [] });
    const [done] = d.observe('DELETED', held('3', { replicas: 1 }, ['example.com/hold'], true));
    expect(done).toMatchObject({ operation: 'DELETE', deletion: 'completed', author: { username: 'bob' }, releasedBy: { username: 'carol' }, resourceVersion: '3' });
    expect(done?.requestedBy).toBe(requested);
  });

  it('two people under one key: never the last one recorded; the persisted field manager decides, else nobody', () => {
    const store = new CorrelationStore({ ttlMs: 60_000, maxEntries: 100 });
    const d = new ChangeDetector(type, prepare, store);
    d.observe('ADDED', obj('1', { replicas: 1 }));
    store.record(key('UPDATE', '1', { replicas: 2 }), { username: 'alice', groups: [], fieldManager: 'kubectl-patch' });
    store.record(key('UPDATE', '1', { replicas: 2 }), { username: 'carol', groups: [], fieldManager: 'forged' });
    const [ambiguous] = d.observe('MODIFIED', obj('2', { replicas: 2 }));
    expect(ambiguous?.author).toBeUndefined();
    expect(ambiguous?.candidates?.map((a) => a.username)).toEqual(['alice', 'carol']);

    store.record(key('UPDATE', '2', { replicas: 3 }), { username: 'alice', groups: [], fieldManager: 'kubectl-patch' });
    store.record(key('UPDATE', '2', { replicas: 3 }), { username: 'carol', groups: [], fieldManager: 'forged' });
    const persisted = obj('3', { replicas: 3 }, { metadata: { name: 'web', namespace: 'shop', uid: 'u1', resourceVersion: '3', managedFields: [{ manager: 'kubectl-create', time: '2026-12-05T11:00:00Z' }, { manager: 'kubectl-patch', time: '2026-12-05T12:00:00Z' }] } });
    expect(d.observe('MODIFIED', persisted)[0]?.author?.username).toBe('alice');

    store.record(key('UPDATE', '3', { replicas: 4 }), { username: 'bob', groups: ['a'] });
    store.record(key('UPDATE', '3', { replicas: 4 }), { username: 'bob', groups: ['a'], fieldManager: 'retry' });
    expect(d.observe('MODIFIED', obj('4', { replicas: 4 }))[0]?.author?.username).toBe('bob'); // one identity twice: not ambiguous
  });

  it('a relist emits what it found in resourceVersion order, the deletions last; delete + re-create gives both', () => {
    const store = new CorrelationStore({ ttlMs: 60_000, maxEntries: 100 });
    const named = (name: string, rv: string, uid = `u-${name}`, v = 1): { obj: KubeObject; prepared: ReturnType<typeof prepare> } => {
      const o = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'shop', uid, resourceVersion: rv }, spec: { v } } as KubeObject;
      return { obj: o, prepared: prepare(o) };
    };
    const d = new ChangeDetector(type, prepare, store);
    d.seed([named('a', '10'), named('b', '11'), named('c', '12'), named('gone', '13')]);
    const changes = d.relist([named('a', '25', 'u-a', 2), named('b', '21', 'u-b', 2), named('c', '30', 'u-c2'), named('new', '22')]);
    expect(changes.map((c) => `${c.operation} ${c.name} ${c.resourceVersion}${c.advancesCheckpoint === false ? ' (no checkpoint)' : ''}`)).toEqual([
      'UPDATE b 21', 'CREATE new 22', 'UPDATE a 25', 'DELETE c 12 (no checkpoint)', 'CREATE c 30', 'DELETE gone 13 (no checkpoint)',
    ]);
  });
});
