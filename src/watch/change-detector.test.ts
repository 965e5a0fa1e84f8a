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
