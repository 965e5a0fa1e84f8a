import { describe, expect, it } from 'vitest';
import { compileRuleSet } from '../rules/rule-set.ts';
import { RouteTable } from './route-table.ts';
import { CATALOGUE, CONFIGMAPS, DEPLOYMENTS, gitRepoConfig, watchRule } from './testing/fakes.ts';

const rules = (...rs: ReturnType<typeof watchRule>[]) => compileRuleSet({ repos: [gitRepoConfig('team', 'audit')], rules: rs, clusterRules: [], ownNamespace: 'kubescribe' });

describe('RouteTable', () => {
  it('resolves each route to the served types and groups routes by (destination, folder)', () => {
    const { table } = RouteTable.build(rules(
      watchRule('team', 'a', { baseFolder: 'x' }),
      watchRule('team', 'b', { baseFolder: 'x', rules: [{ apiGroups: ['', 'apps'], resources: ['configmaps', 'deployments'] }] }),
      watchRule('team', 'c', { baseFolder: 'y' }),
    ), CATALOGUE);
    expect(table.types().map((t) => t.resource).sort()).toEqual(['configmaps', 'deployments']);
    expect(table.targets(CONFIGMAPS).map((t) => [t.destination, t.baseFolder, t.routes.map((r) => r.ref?.name)])).toEqual([
      ['team/audit@main', 'x', ['a', 'b']], ['team/audit@main', 'y', ['c']],
    ]);
    expect(table.targets(DEPLOYMENTS).map((t) => t.baseFolder)).toEqual(['x']);
    expect(table.routesTo('team/audit@main')).toHaveLength(3);
  });

  it('asks for a relist only of what a new or changed rule records', () => {
    const first = RouteTable.build(rules(watchRule('team', 'a')), CATALOGUE);
    expect([...first.relist]).toEqual(['core/configmaps']);
    const same = RouteTable.build(rules(watchRule('team', 'a')), CATALOGUE, first.table);
    expect(same.relist.size).toBe(0);
    const edited = RouteTable.build(rules(watchRule('team', 'a', { rules: [{ apiGroups: ['apps'], resources: ['deployments'] }] }, 2)), CATALOGUE, same.table);
    expect([...edited.relist]).toEqual(['apps/deployments']);
    expect([...edited.relistRoutes]).toHaveLength(1);
  });

  it('a type the cluster does not serve yet is recorded once discovery finds it (relist then)', () => {
    const r = rules(watchRule('team', 'a', { rules: [{ apiGroups: ['apps'], resources: ['deployments'] }] }));
    const before = RouteTable.build(r, [CONFIGMAPS]);
    expect(before.table.types()).toEqual([]);
    const after = RouteTable.build(r, CATALOGUE, before.table);
    expect([...after.relist]).toEqual(['apps/deployments']);
  });

  it('a "*" rule whose types grow relists only the new ones; an edit of the rule relists them all', () => {
    const r = (generation = 1) => rules(watchRule('team', 'all', { rules: [{ apiGroups: ['*'], resources: ['*'] }] }, generation));
    const first = RouteTable.build(r(), [CONFIGMAPS]);
    expect([...first.relist]).toEqual(['core/configmaps']);
    expect(first.changedRoutes.size).toBe(1);
    const grown = RouteTable.build(r(), CATALOGUE, first.table); // more types appeared (CRDs, say)
    expect([...grown.relist].sort()).toEqual(CATALOGUE.map((t) => `${t.group || 'core'}/${t.resource}`).filter((k) => k !== 'core/configmaps').sort());
    expect(grown.relistRoutes.size).toBe(1);
    expect(grown.changedRoutes.size).toBe(0); // what was listed for it still holds
    const shrunk = RouteTable.build(r(), [CONFIGMAPS], grown.table);
    expect(shrunk.relist.size).toBe(0);
    const edited = RouteTable.build(r(2), [CONFIGMAPS], shrunk.table);
    expect([...edited.relist]).toEqual(['core/configmaps']);
    expect(edited.changedRoutes.size).toBe(1);
  });

  it('watches a type in the one namespace its rules are bound to, else cluster-wide', () => {
    const cms = { ...CONFIGMAPS, namespaced: true };
    const nodes = { group: '', version: 'v1', resource: 'nodes', namespaced: false };
    const catalogue = [cms, nodes];
    const build = (watchRules: ReturnType<typeof watchRule>[], clusterRules: ReturnType<typeof watchRule>[] = []) => RouteTable.build(compileRuleSet({
      repos: [gitRepoConfig('team', 'audit'), gitRepoConfig('other', 'audit')], rules: watchRules, clusterRules, ownNamespace: 'kubescribe',
    }), catalogue).table;
    expect(build([watchRule('team', 'a'), watchRule('team', 'b', { baseFolder: 'x' })]).watchNamespace(cms)).toBe('team');
    expect(build([watchRule('team', 'a'), watchRule('other', 'a')]).watchNamespace(cms)).toBeUndefined();
    const cluster = { metadata: { name: 'all', generation: 1 }, spec: { gitRepoConfigRef: { name: 'audit', namespace: 'team' }, rules: [{ apiGroups: [''], resources: ['configmaps', 'nodes'] }] } };
    expect(build([watchRule('team', 'a')], [cluster]).watchNamespace(cms)).toBeUndefined();
    expect(build([], [cluster]).watchNamespace(nodes)).toBeUndefined(); // cluster-scoped: never in a namespace
    expect(build([]).watchNamespace(cms)).toBeUndefined();
  });
});
