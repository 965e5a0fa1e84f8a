import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Change } from '../change.ts';
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
      correlations: { take: () => undefined, takeStartingWith: () => undefined },
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
});
