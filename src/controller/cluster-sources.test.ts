import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { KubeApi } from '../watch/index.ts';
import { ClusterSources } from './cluster-sources.ts';

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

/** An API server where a WatchRule is created once the watch of watchrules opens, and edited on `edit()`; counts requests by path. */
function fakeApi(): { api: KubeApi; gets: string[]; watches: string[]; edit: () => void } {
  const gets: string[] = [];
  const watches: string[] = [];
  let edit!: () => void;
  const edited = new Promise<void>((r) => { edit = r; });
  const api: KubeApi = {
    server: 'https://fake',
    async getJson<T>(path: string) {
      gets.push(path.split('?')[0]!);
      if (path === '/api/v1') return { groupVersion: 'v1', resources: [{ name: 'configmaps', kind: 'ConfigMap', namespaced: true, verbs: ['list', 'watch'] }] } as T;
      if (path === '/apis') return { groups: [{ name: 'kubescribe.dev', preferredVersion: { version: 'v1alpha1' } }] } as T;
      if (path === '/apis/kubescribe.dev/v1alpha1') return { groupVersion: 'kubescribe.dev/v1alpha1', resources: [{ name: 'watchrules', kind: 'WatchRule', namespaced: true, verbs: ['list', 'watch'] }] } as T;
      return { metadata: { resourceVersion: '1' }, items: [] } as T;
    },
    async send() { throw new Error('unused'); },
    async *streamLines(path: string, signal: AbortSignal) {
      watches.push(path.split('?')[0]!);
      if (path.startsWith('/apis/kubescribe.dev/v1alpha1/watchrules?')) {
        yield JSON.stringify({ type: 'ADDED', object: { apiVersion: 'kubescribe.dev/v1alpha1', kind: 'WatchRule', metadata: { namespace: 'team', name: 'r', resourceVersion: '2' } } });
        await edited;
        yield JSON.stringify({ type: 'MODIFIED', object: { apiVersion: 'kubescribe.dev/v1alpha1', kind: 'WatchRule', metadata: { namespace: 'team', name: 'r', resourceVersion: '3' }, spec: { x: 1 } } });
      }
      await new Promise<void>((_r, rej) => signal.addEventListener('abort', () => rej(new Error('aborted')), { once: true }));
    },
  };
  return { api, gets, watches, edit };
}

describe('ClusterSources', () => {
  it('one copy for every controller of the process: one watch of each kind, one discovery, every listener told', async () => {
    const { api, gets, watches, edit } = fakeApi();
    const sources = new ClusterSources({ api, logger: pino({ level: 'silent' }), customResources: true, discoveryIntervalMs: 60_000, backoffMs: 5, maxBackoffMs: 20 });
    const told = { a: 0, b: 0, c: 0 };
    const offA = sources.subscribe({ changed: () => { told.a++; }, unchanged: async () => undefined });
    sources.subscribe({ changed: () => { told.b++; }, unchanged: async () => undefined });
    // Two controllers starting at once: one start.
    await Promise.all([sources.start(), sources.start()]);
    expect(sources.discovery.catalogue().map((t) => t.resource).sort()).toEqual(['configmaps', 'watchrules']);
    await until(() => sources.customResources.get('WatchRule')!.objects.size === 1);
    await until(() => sources.customResourcesSynced());
    expect(told.a).toBeGreaterThan(0); // the discovery, the WatchRule
    expect(told.b).toBe(told.a);
    // A listener that subscribes later (a destination's controller) is told of later changes; one that left is not.
    sources.subscribe({ changed: () => { told.c++; }, unchanged: async () => undefined });
    offA();
    const a = told.a;
    edit();
    await until(() => told.c === 1);
    expect(sources.customResources.get('WatchRule')!.objects.get('team/r')?.spec).toEqual({ x: 1 });
    expect(told.a).toBe(a);
    expect(told.b).toBeGreaterThan(a);
    // Each list+watch and the discovery once, however many listen.
    expect(gets.filter((p) => p === '/apis')).toHaveLength(1);
    expect(watches.filter((p) => p === '/apis/kubescribe.dev/v1alpha1/watchrules')).toHaveLength(1);
    expect(watches.filter((p) => p === '/api/v1/namespaces')).toHaveLength(1);
    await sources.stop();
  });
});
