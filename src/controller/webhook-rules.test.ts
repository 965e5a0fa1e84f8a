import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { KubeApi } from '../watch/index.ts';
import { syncWebhookRules, webhookRules } from './webhook-rules.ts';

const types = [{ group: '', version: 'v1', resource: 'configmaps' }, { group: 'apps', version: 'v1', resource: 'deployments', scalable: true }];

/** The apiserver's answer: its own key order, as a real GET returns it. */
function apiserver(rules: unknown[]): { api: KubeApi; puts: unknown[] } {
  const puts: unknown[] = [];
  const api = {
    getJson: async () => ({ metadata: { resourceVersion: '7' }, webhooks: [{ name: 'kubescribe.dev', rules }] }),
    send: async (_m: string, _p: string, body: unknown) => { puts.push(body); return body; },
  } as unknown as KubeApi;
  return { api, puts };
}

describe('webhook rules', () => {
  it('leaves rules alone that differ from ours only in key order (no PUT, no log line every discovery tick)', async () => {
    const served = webhookRules(types).map((r) => ({ operations: r.operations, apiGroups: r.apiGroups, apiVersions: r.apiVersions, resources: r.resources, scope: r.scope }));
    const { api, puts } = apiserver(served);
    expect(await syncWebhookRules(api, 'kubescribe', types, pino({ level: 'silent' }))).toBe(false);
    expect(puts).toEqual([]);
  });

  it('writes rules that really differ', async () => {
    const { api, puts } = apiserver(webhookRules(types.slice(0, 1)));
    expect(await syncWebhookRules(api, 'kubescribe', types, pino({ level: 'silent' }))).toBe(true);
    expect(puts).toHaveLength(1);
  });

  it('always sends Namespace DELETEs (the cause of the namespace controller\'s deletions), once', () => {
    const rules = webhookRules(types);
    expect(rules.at(-1)).toEqual({ apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces'], operations: ['DELETE'], scope: '*' });
    const recorded = webhookRules([...types, { group: '', version: 'v1', resource: 'namespaces' }]);
    expect(recorded.filter((r) => r.resources.includes('namespaces'))).toEqual([{ apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps', 'namespaces'], operations: ['CREATE', 'UPDATE', 'DELETE'], scope: '*' }]);
    expect(webhookRules([])).toEqual([rules.at(-1)]);
  });
});
