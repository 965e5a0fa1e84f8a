import { describe, expect, it } from 'vitest';
import type { QueueItem } from '../change.ts';
import { compileRuleSet } from '../rules/rule-set.ts';
import { RouteTable } from './route-table.ts';
import { Router } from './router.ts';
import { CATALOGUE, CONFIGMAPS, change, configMap, FakeDestinations, gitRepoConfig, watchRule } from './testing/fakes.ts';

function router(rs: ReturnType<typeof watchRule>[], clusterFolder?: string) {
  const { table } = RouteTable.build(compileRuleSet({ repos: [gitRepoConfig('team', 'audit')], rules: rs, clusterRules: [], ownNamespace: 'kubescribe' }), CATALOGUE);
  const destinations = new FakeDestinations();
  const labels: Record<string, Record<string, string>> = { team: { tier: 'gold' } };
  return { destinations, router: new Router({ table: () => table, destinations, nsLabels: (ns) => labels[ns], clusterFolder, openWaitMs: 10 }) };
}

const reconcileOf = (item: QueueItem) => (item.kind === 'reconcile' ? item : undefined);

describe('Router', () => {
  it('writes a change once per (destination, folder), even when two rules there both record it', async () => {
    const { router: r, destinations } = router([watchRule('team', 'a'), watchRule('team', 'b'), watchRule('team', 'c', { baseFolder: 'other' })]);
    await r.changes(CONFIGMAPS, [change(configMap('team', 'app'))]);
    expect(destinations.pushed.map((p) => [p.destination, p.target.baseFolder])).toEqual([['team/audit@main', ''], ['team/audit@main', 'other']]);
  });

  it('skips what no rule records: other operations, labels, namespaces, excluded users', async () => {
    const { router: r, destinations } = router([watchRule('team', 'a', {
      rules: [{ apiGroups: [''], resources: ['configmaps'], operations: ['DELETE'] }], excludeUsers: ['system:serviceaccount:*'],
    })]);
    expect(r.recordable(CONFIGMAPS, change(configMap('team', 'app'), 'UPDATE'))).toBe(false);
    expect(r.recordable(CONFIGMAPS, change(configMap('team', 'app'), 'DELETE'))).toBe(true);
    expect(r.recordable(CONFIGMAPS, change(configMap('elsewhere', 'app'), 'DELETE'))).toBe(false);
    await r.changes(CONFIGMAPS, [change(configMap('team', 'app'), 'DELETE', 'system:serviceaccount:kube-system:gc'), change(configMap('team', 'x'), 'DELETE', 'bob')]);
    expect(destinations.pushed.map((p) => (p.item.kind === 'change' ? p.item.name : ''))).toEqual(['x']);
  });

  it('an excluded user in one rule is still recorded by an overlapping rule that does not exclude them', async () => {
    const { router: r, destinations } = router([watchRule('team', 'a', { excludeUsers: ['bob'] }), watchRule('team', 'b')]);
    await r.changes(CONFIGMAPS, [change(configMap('team', 'app'), 'UPDATE', 'bob')]);
    expect(destinations.pushed).toHaveLength(1);
  });

  it('reconciles each folder with the union of what its rules hold, under the cluster folder', async () => {
    const { router: r, destinations } = router([
      watchRule('team', 'a', { labelSelector: { matchLabels: { app: 'web' } } }),
      watchRule('team', 'b', { labelSelector: { matchLabels: { app: 'db' } } }),
    ], 'prod');
    const objs = [configMap('team', 'web', { app: 'web' }), configMap('team', 'db', { app: 'db' }), configMap('team', 'cache', { app: 'cache' })];
    await r.snapshot(CONFIGMAPS, objs, 'start-up', '100');
    expect(destinations.pushed).toHaveLength(1);
    const rec = reconcileOf(destinations.pushed[0]!.item)!;
    expect(rec.objects.map((o) => o.metadata?.name)).toEqual(['web', 'db']);
    expect(rec.recorded('team')).toBe(true);
    expect(rec.recorded('elsewhere')).toBe(false);
    expect(destinations.pushed[0]!.target.baseFolder).toBe('prod');
  });

  it('names the rules a snapshot was taken for once it reached their folders: a relist for one rule counts for it alone', async () => {
    const rules = [watchRule('team', 'a'), watchRule('team', 'b', { baseFolder: 'b' })];
    const { table } = RouteTable.build(compileRuleSet({ repos: [gitRepoConfig('team', 'audit')], rules, clusterRules: [], ownNamespace: 'kubescribe' }), CATALOGUE);
    const [a, b] = table.routes.map((r) => r.key) as [string, string];
    const destinations = new FakeDestinations();
    const listed: Array<{ keys: readonly string[]; pushedBefore: number }> = [];
    const r = new Router({ table: () => table, destinations, nsLabels: () => undefined, onListed: (_t, keys) => listed.push({ keys, pushedBefore: destinations.pushed.length }) });
    await r.snapshot(CONFIGMAPS, [configMap('team', 'app')], 'configuration changed', '100', new Set([b]));
    expect(listed).toEqual([{ keys: [b], pushedBefore: 1 }]);
    await r.snapshot(CONFIGMAPS, [configMap('team', 'app')], 'periodic resync', '101');
    expect(listed[1]).toEqual({ keys: [a, b], pushedBefore: 3 });
  });

  it('replays a type from the oldest checkpoint of its folders, or lists when one has none', async () => {
    const { router: r, destinations } = router([watchRule('team', 'a'), watchRule('team', 'b', { baseFolder: 'b' })]);
    expect(await r.startFrom(CONFIGMAPS)).toBeUndefined(); // not open: list
    destinations.checkpointsOf.set('team/audit@main', new Map([['|core/configmaps', '120'], ['b|core/configmaps', '95']]));
    expect(await r.startFrom(CONFIGMAPS)).toBe('95');
    destinations.checkpointsOf.set('team/audit@main', new Map([['|core/configmaps', '120']]));
    expect(await r.startFrom(CONFIGMAPS)).toBeUndefined();
  });
});
