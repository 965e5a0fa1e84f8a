import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Change } from '../change.ts';
import { correlationKey, CorrelationStore, GARBAGE_COLLECTOR, objectCauseKey } from '../correlation/index.ts';
import type { KubeObject } from '../kube-object.ts';
import type { KubeApi } from './kube-api.ts';
import { WatchManager } from './watch-manager.ts';

const cm = (namespace: string, name: string, rv: string): KubeObject =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name, uid: `${namespace}-${name}`, resourceVersion: rv }, data: { rv } });

/** An API whose list is empty and whose one watch stream delivers `events`, then hangs. */
function fakeApi(events: Array<{ type: string; object: KubeObject }>): KubeApi {
  let watched = false;
  return {
    server: 'https://fake',
    async getJson<T>() { return { apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: '1' }, items: [] } as T; },
    async send() { throw new Error('unused'); },
    async *streamLines(_path: string, signal: AbortSignal) {
      if (!watched) {
        watched = true;
        for (const ev of events) yield JSON.stringify(ev);
      }
      await new Promise<void>((_r, rej) => signal.addEventListener('abort', () => rej(new Error('aborted')), { once: true }));
    },
  };
}

describe('watch manager', () => {
  it('looks up, waits for and counts only the changes some consumer records', async () => {
    const lookups: boolean[] = [];
    const waited: string[][] = [];
    const delivered: Change[] = [];
    const manager = new WatchManager({
      api: fakeApi([
        { type: 'ADDED', object: cm('recorded', 'a', '2') },
        { type: 'ADDED', object: cm('elsewhere', 'b', '3') },
        { type: 'MODIFIED', object: { ...cm('elsewhere', 'b', '4'), data: { x: '1' } } },
        { type: 'MODIFIED', object: { ...cm('recorded', 'a', '5'), data: { x: '1' } } },
      ]),
      prepare: (obj) => ({ sanitized: obj, hash: JSON.stringify(obj.data) }),
      correlations: { take: () => undefined, takeStartingWith: () => undefined, peek: () => undefined, record: () => undefined },
      logger: pino({ level: 'silent' }),
      backoffMs: 5, maxBackoffMs: 20, resyncIntervalMs: 0,
      missWaitMs: 10,
      waitFor: async (keys) => { waited.push([...keys]); return undefined; },
      onLookup: (hit) => lookups.push(hit),
      recordable: (_type, change) => change.namespace === 'recorded',
      sink: { changes: async (_t, changes) => { delivered.push(...changes); }, snapshot: async () => undefined },
    });
    manager.setTypes([{ group: '', version: 'v1', resource: 'configmaps', namespaced: true, kind: 'ConfigMap' }]);
    const deadline = Date.now() + 3000;
    while (delivered.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await manager.stop();
    // Every change still reaches the sink (the routes decide), but only the recorded namespace's
    // two were looked up: two misses, not four.
    expect(delivered.map((c) => `${c.operation} ${c.namespace}/${c.name}`)).toEqual(['CREATE recorded/a', 'CREATE elsewhere/b', 'UPDATE elsewhere/b', 'UPDATE recorded/a']);
    expect(lookups).toEqual([false, false]);
    expect(waited).toHaveLength(2);
  });

  it('a type whose namespace changes is watched anew from where the old watch got to, after its changes', async () => {
    const lists: string[] = [];
    const watches: string[] = [];
    const order: string[] = [];
    let handing = false;
    const api: KubeApi = {
      server: 'https://fake',
      async getJson<T>(path: string) {
        lists.push(path);
        return { apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: path.includes('resourceVersion=') ? '7' : '5' }, items: [cm('a', 'x', '5')] } as T;
      },
      async send() { throw new Error('unused'); },
      async *streamLines(path: string, signal: AbortSignal) {
        watches.push(path);
        if (watches.length === 1) yield JSON.stringify({ type: 'MODIFIED', object: { ...cm('a', 'x', '7'), data: { v: '2' } } });
        await new Promise<void>((_r, rej) => signal.addEventListener('abort', () => rej(new Error('aborted')), { once: true }));
      },
    };
    const manager = new WatchManager({
      api,
      prepare: (obj) => ({ sanitized: obj, hash: JSON.stringify(obj.data) }),
      correlations: { take: () => undefined, takeStartingWith: () => undefined, peek: () => undefined, record: () => undefined },
      logger: pino({ level: 'silent' }),
      backoffMs: 5, maxBackoffMs: 20, resyncIntervalMs: 0,
      startFrom: async () => undefined, // no checkpoint: without the hand-over the new watch would list now
      sink: {
        changes: async (_t, changes) => {
          handing = true;
          await new Promise((r) => setTimeout(r, 20)); // still in flight when the scope changes
          order.push(...changes.map((c) => `${c.operation} ${c.namespace}/${c.name}`));
        },
        snapshot: async (_t, objects, _reason, rv) => { order.push(`snapshot ${objects.length} at ${rv}`); },
      },
    });
    const type = { group: '', version: 'v1', resource: 'configmaps', namespaced: true, kind: 'ConfigMap' };
    const until = async (what: () => boolean) => { const end = Date.now() + 3000; while (!what() && Date.now() < end) await new Promise((r) => setTimeout(r, 2)); };
    manager.setTypes([type], () => 'a');
    await until(() => watches.length === 1);
    await until(() => handing); // the event is being handed on
    expect(manager.setTypes([type], () => undefined)).toEqual(['core/configmaps']);
    await until(() => watches.length === 2);
    await manager.stop();
    expect(lists[0]).toMatch(/^\/api\/v1\/namespaces\/a\/configmaps\?/);
    // The cluster-wide list is AT the version of the last event the namespaced watch handed on.
    expect(lists[1]).toMatch(/^\/api\/v1\/configmaps\?.*resourceVersion=7&resourceVersionMatch=Exact/);
    expect(watches[1]).toMatch(/^\/api\/v1\/configmaps\?.*resourceVersion=7/);
    expect(order).toEqual(['snapshot 1 at 5', 'UPDATE a/x', 'snapshot 1 at 7']);
  });

  it('names the cause of the garbage collector\'s deletions, immediate and held, and passes it on', async () => {
    const store = new CorrelationStore({ ttlMs: 60_000, maxEntries: 100 });
    const owned = (name: string, rv: string, extra: Record<string, unknown> = {}): KubeObject => {
      const o = cm('shop', name, rv);
      return { ...o, data: { v: name }, metadata: { ...o.metadata, ownerReferences: [{ uid: 'd-uid' }], ...extra } } as KubeObject;
    };
    const gc = { username: GARBAGE_COLLECTOR, groups: [] };
    const del = (name: string, oldRv: string): string => correlationKey({ operation: 'DELETE', group: '', resource: 'configmaps', namespace: 'shop', name, uid: `shop-${name}`, oldResourceVersion: oldRv, contentHash: JSON.stringify({ v: name }) });
    store.record(objectCauseKey('d-uid'), { username: 'alice', groups: [], deleted: 'deployments shop/web' });
    store.record(del('a', '2'), gc);
    store.record(del('b', '3'), gc);
    const delivered: Change[] = [];
    const manager = new WatchManager({
      api: fakeApi([
        { type: 'ADDED', object: owned('a', '2') },
        { type: 'ADDED', object: owned('b', '3') },
        { type: 'DELETED', object: owned('a', '4') },
        { type: 'MODIFIED', object: owned('b', '5', { deletionTimestamp: '2026-01-01T00:00:00Z' }) },
        { type: 'DELETED', object: owned('b', '6', { deletionTimestamp: '2026-01-01T00:00:00Z' }) },
      ]),
      prepare: (obj) => ({ sanitized: obj, hash: JSON.stringify(obj.data) }),
      correlations: store,
      logger: pino({ level: 'silent' }),
      backoffMs: 5, maxBackoffMs: 20, resyncIntervalMs: 0,
      sink: { changes: async (_t, changes) => { delivered.push(...changes); }, snapshot: async () => undefined },
    });
    manager.setTypes([{ group: '', version: 'v1', resource: 'configmaps', namespaced: true, kind: 'ConfigMap' }]);
    const deadline = Date.now() + 3000;
    while (delivered.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await manager.stop();
    expect(delivered.map((c) => [c.operation, c.name, c.deletion, c.author?.username, c.cause?.users, c.cause?.deleted])).toEqual([
      ['CREATE', 'a', undefined, undefined, undefined, undefined],
      ['CREATE', 'b', undefined, undefined, undefined, undefined],
      ['DELETE', 'a', undefined, GARBAGE_COLLECTOR, ['alice'], 'deployments shop/web'],
      ['DELETE', 'b', 'requested', GARBAGE_COLLECTOR, ['alice'], 'deployments shop/web'],
      ['DELETE', 'b', 'completed', GARBAGE_COLLECTOR, ['alice'], 'deployments shop/web'],
    ]);
    // Passed on: what the garbage collector deletes because of a or b names alice too.
    expect(store.peek(objectCauseKey('shop-a'))?.map((e) => e.username)).toEqual(['alice']);
  });
});
