import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube-object.ts';
import { KubescribeError } from '../errors.ts';
import { KubeApiError, type KubeApi } from './kube-api.ts';
import { runListWatch, type WatchEvent } from './list-watch.ts';

const cm = (name: string, rv: string): KubeObject => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });

/** A scripted API: each list and each watch call takes the next step of its script. */
function fakeApi(lists: Array<KubeObject[] | Error>, watches: Array<Array<Record<string, unknown>> | Error | 'hang'>) {
  const calls: string[] = [];
  const api: KubeApi = {
    server: 'https://fake',
    async getJson<T>(path: string) {
      calls.push(`list ${path}`);
      const next = lists.shift();
      if (!next) throw new Error('no more lists');
      if (next instanceof Error) throw next;
      return { apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: String(10 * (calls.length)) }, items: next } as T;
    },
    async send() { throw new Error('unused'); },
    async *streamLines(path: string, signal: AbortSignal) {
      calls.push(`watch ${path}`);
      const next = watches.shift();
      if (next === undefined || next === 'hang') {
        await new Promise<void>((_r, rej) => signal.addEventListener('abort', () => rej(new Error('aborted')), { once: true }));
        return;
      }
      if (next instanceof Error) throw next;
      for (const ev of next) yield JSON.stringify(ev);
    },
  };
  return { api, calls };
}

async function run(api: KubeApi, until: (log: string[]) => boolean, extra: { resyncIntervalMs?: number; backoffMs?: number; maxBackoffMs?: number } = {}) {
  const log: string[] = [];
  const ctl = new AbortController();
  const done = runListWatch({
    api, type: { group: '', version: 'v1', resource: 'configmaps' }, signal: ctl.signal, logger: pino({ level: 'silent' }),
    backoffMs: 5, maxBackoffMs: 20, ...extra,
    handler: {
      onList: async (items, rv, relist) => { log.push(`${relist ? 'relist' : 'list'} ${items.map((i) => i.metadata?.name).join(',')} @${rv} kind=${items[0]?.kind ?? '-'}`); },
      onEvent: async (ev: WatchEvent) => { log.push(`${ev.type} ${ev.object.metadata?.name}@${ev.object.metadata?.resourceVersion}`); },
    },
  });
  const deadline = Date.now() + 3000;
  while (!until(log) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  ctl.abort();
  await done;
  return log;
}

describe('list + watch', () => {
  it('stops at once while it waits for where to start from (a takeover whose branch never opens)', async () => {
    const { api, calls } = fakeApi([[]], ['hang']);
    const ctl = new AbortController();
    const done = runListWatch({
      api, type: { group: '', version: 'v1', resource: 'configmaps' }, signal: ctl.signal, logger: pino({ level: 'silent' }), backoffMs: 5, maxBackoffMs: 20,
      startFrom: () => new Promise<string | undefined>(() => undefined), // never settles
      handler: { onList: async () => undefined, onEvent: async () => undefined },
    });
    await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    ctl.abort();
    const stopped = await Promise.race([done.then(() => 'stopped'), new Promise((r) => setTimeout(() => r('still waiting'), 1000))]);
    expect(stopped).toBe('stopped');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(calls).toEqual([]); // nothing listed or watched after the stop
  });

  it('lists, watches from the list version, follows bookmarks, and relists on 410 Gone', async () => {
    const { api, calls } = fakeApi([[cm('a', '1')], [cm('a', '3'), cm('b', '4')]], [
      [{ type: 'ADDED', object: cm('b', '2') }, { type: 'BOOKMARK', object: { metadata: { resourceVersion: '15' } } }, { type: 'ERROR', object: { code: 410, message: 'too old' } }],
      'hang',
    ]);
    const log = await run(api, (l) => l.some((x) => x.startsWith('relist')));
    expect(log).toEqual(['list a @10 kind=ConfigMap', 'ADDED b@2', 'relist a,b @30 kind=ConfigMap']);
    expect(calls[1]).toMatch(/watch .*resourceVersion=10/);
  });

  it('reconnects with backoff after errors, resuming from the last resourceVersion', async () => {
    const { api, calls } = fakeApi([[]], [
      [{ type: 'MODIFIED', object: cm('a', '11') }],
      new KubeApiError(500, 'InternalError', 'boom'),
      new Error('ECONNREFUSED'),
      [{ type: 'DELETED', object: cm('a', '12') }],
      'hang',
    ]);
    const log = await run(api, (l) => l.includes('DELETED a@12'));
    expect(log).toEqual(['list  @10 kind=-', 'MODIFIED a@11', 'DELETED a@12']);
    expect(calls.filter((c) => c.startsWith('list'))).toHaveLength(1);
    expect(calls.slice(2, 5).every((c) => /resourceVersion=11/.test(c))).toBe(true);
    expect(calls[5]).toMatch(/resourceVersion=12/);
  });

  it('relists from scratch when a list fails with 410 or an error', async () => {
    const { api } = fakeApi([new KubeApiError(410, 'Expired', 'continue token expired'), new Error('down'), [cm('a', '1')]], ['hang']);
    const log = await run(api, (l) => l.length > 0);
    expect(log).toEqual(['list a @30 kind=ConfigMap']);
  });

  it('relists periodically in the same loop as the stream', async () => {
    const { api } = fakeApi([[cm('a', '1')], [cm('a', '1')], [cm('a', '1')]], ['hang', 'hang', 'hang']);
    const log = await run(api, (l) => l.filter((x) => x.startsWith('relist')).length >= 2, { resyncIntervalMs: 30 });
    expect(log.slice(0, 3).map((x) => x.split(' ')[0])).toEqual(['list', 'relist', 'relist']);
  });

  it('a resync lists at the last resourceVersion handed on and watches on from it: changes meanwhile come as events', async () => {
    const { api, calls } = fakeApi([[cm('a', '1')], [cm('a', '11')], [cm('a', '11')]], [
      [{ type: 'MODIFIED', object: cm('a', '11') }, { type: 'BOOKMARK', object: { metadata: { resourceVersion: '13' } } }],
      'hang', // the stream reopened from 13, until the resync cuts it
      [{ type: 'MODIFIED', object: cm('a', '14') }], // after the resync: from its list
      'hang',
    ]);
    const log = await run(api, (l) => l.includes('MODIFIED a@14'), { resyncIntervalMs: 60 });
    const lists = calls.filter((c) => c.startsWith('list'));
    const watches = calls.filter((c) => c.startsWith('watch'));
    expect(lists[0]).not.toMatch(/resourceVersion=/); // the first list: now
    expect(watches[1]).toMatch(/resourceVersion=13/);
    expect(lists[1]).toMatch(/resourceVersion=13&resourceVersionMatch=Exact/); // at the bookmark handed on
    expect(log).toEqual(['list a @10 kind=ConfigMap', 'MODIFIED a@11', 'relist a @40 kind=ConfigMap', 'MODIFIED a@14']);
  });

  it('a resync whose resourceVersion is compacted away lists now', async () => {
    const { api, calls } = fakeApi([[cm('a', '1')], new KubeApiError(410, 'Expired', 'too old resource version'), [cm('a', '1')]], [[], 'hang', 'hang']);
    const log = await run(api, (l) => l.some((x) => x.startsWith('relist')), { resyncIntervalMs: 30 });
    const lists = calls.filter((c) => c.startsWith('list'));
    expect(lists[1]).toMatch(/resourceVersion=10&resourceVersionMatch=Exact/);
    expect(lists[2]).not.toMatch(/resourceVersion=/);
    expect(log[1]).toMatch(/^relist a @/);
  });

  it('prepares each listed object as its page arrives, and hands onList the prepared ones', async () => {
    const { api } = fakeApi([[cm('a', '1'), cm('b', '2')]], ['hang']);
    const prepared: string[] = [];
    let listed: string[] = [];
    const ctl = new AbortController();
    const done = runListWatch<string>({
      api, type: { group: '', version: 'v1', resource: 'configmaps' }, signal: ctl.signal, logger: pino({ level: 'silent' }), backoffMs: 5, maxBackoffMs: 20,
      handler: {
        prepareListed: (obj) => { prepared.push(`${obj.kind}/${obj.metadata?.name}`); return `p:${obj.metadata?.name}`; },
        onList: async (items) => { listed = items; },
        onEvent: async () => undefined,
      },
    });
    while (listed.length === 0) await new Promise((r) => setTimeout(r, 5));
    ctl.abort();
    await done;
    expect(prepared).toEqual(['ConfigMap/a', 'ConfigMap/b']);
    expect(listed).toEqual(['p:a', 'p:b']);
  });

  it('reopens a silent (half-open) watch at once from the last resourceVersion, without a relist', async () => {
    const { api, calls } = fakeApi([[]], [
      [{ type: 'MODIFIED', object: cm('a', '11') }],
      new KubescribeError('KUBESCRIBE_ERR_KUBE_WATCH_SILENT', 'nothing for 90000 ms'),
      [{ type: 'MODIFIED', object: cm('a', '12') }],
      'hang',
    ]);
    const ctl = { backoffMs: 10_000, maxBackoffMs: 20_000 }; // a backoff (≥ 5 s with jitter) would exceed the run's 3 s
    const log = await run(api, (l) => l.includes('MODIFIED a@12'), ctl);
    expect(log).toEqual(['list  @10 kind=-', 'MODIFIED a@11', 'MODIFIED a@12']);
    expect(calls.filter((c) => c.startsWith('list'))).toHaveLength(1);
    expect(calls[3]).toMatch(/resourceVersion=11/);
  });

  it('waits at least a 429\'s Retry-After before reopening', async () => {
    const { api, calls } = fakeApi([[]], [new KubeApiError(429, 'TooManyRequests', 'slow down', 400), [{ type: 'ADDED', object: cm('a', '11') }], 'hang']);
    const t = Date.now();
    const log = await run(api, (l) => l.includes('ADDED a@11'));
    expect(log).toContain('ADDED a@11');
    expect(Date.now() - t).toBeGreaterThanOrEqual(400); // the backoff alone is 5 ms
    expect(calls.filter((c) => c.startsWith('watch'))).toHaveLength(3);
  });
});
