import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { allCrdManifests } from './crd-manifests.ts';
import { selectorMatcher } from './label-selector.ts';
import { compileRuleSet, typesFor } from './rule-set.ts';

const grc = (ns: string, name: string, spec: Record<string, unknown> = {}) => ({ metadata: { namespace: ns, name, generation: 1 }, spec: { url: 'https://git.example/a.git', ...spec } });
const wr = (ns: string, name: string, spec: Record<string, unknown>) => ({ metadata: { namespace: ns, name, generation: 2 }, spec: { gitRepoConfigRef: { name: 'audit' }, rules: [{ apiGroups: [''], resources: ['configmaps'] }], ...spec } });
const catalogue = [
  { group: '', version: 'v1', resource: 'configmaps' }, { group: '', version: 'v1', resource: 'events' },
  { group: 'apps', version: 'v1', resource: 'deployments', scalable: true }, { group: 'apps', version: 'v1', resource: 'statefulsets' },
  { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' },
];

describe('rule set', () => {
  it('compiles a WatchRule into a route to its repo, branch and folder, limited to its namespace', () => {
    const rs = compileRuleSet({ repos: [grc('team', 'audit')], rules: [wr('team', 'r', { branch: 'main', baseFolder: 'x/y' })], clusterRules: [], ownNamespace: 'kubescribe' });
    expect(rs.problems).toEqual([]);
    const [route] = rs.routes;
    expect(route?.destination).toEqual({ repoKey: 'team/audit', branch: 'main' });
    expect(route?.baseFolder).toBe('x/y');
    expect(route?.namespace('team', {})).toBe(true);
    expect(route?.namespace('other', {})).toBe(false);
    expect([...(route?.operations(catalogue[0]!) ?? [])].sort()).toEqual(['CREATE', 'DELETE', 'UPDATE']);
  });

  it('records per resource entry only the operations that entry names', () => {
    const rs = compileRuleSet({ repos: [grc('team', 'audit')], clusterRules: [], ownNamespace: 'kubescribe', rules: [wr('team', 'r', {
      rules: [{ apiGroups: [''], resources: ['configmaps'], operations: ['DELETE'] }, { apiGroups: ['apps'], resources: ['deployments'], operations: ['*'] }],
    })] });
    const [route] = rs.routes;
    expect([...route!.operations(catalogue[0]!)]).toEqual(['DELETE']);
    expect([...route!.operations(catalogue[2]!)].sort()).toEqual(['CREATE', 'DELETE', 'UPDATE']);
    expect([...route!.operations(catalogue[3]!)]).toEqual([]);
  });

  it('takes the age recipients of the rule, else of its GitRepoConfig, and rejects a key with a bad checksum', () => {
    const [a, b] = ['age1382232xnheet0wm74jdjpy7zw2526dtfcywe0wk7f30tla05mcnqa9wj08', 'age1382232xnheet0wm74jdjpy7zw2526dtfcywe0wk7f30tla05mcnqa9wj09'];
    const rs = compileRuleSet({
      repos: [grc('team', 'audit', { secretEncryption: { ageRecipients: [a] } })],
      rules: [wr('team', 'inherits', {}), wr('team', 'bad', { secretEncryption: { ageRecipients: [b] } }), wr('team', 'none', { gitRepoConfigRef: { name: 'audit' } })],
      clusterRules: [], ownNamespace: 'kubescribe',
    });
    expect(rs.routes.map((r) => [r.key, r.ageRecipients])).toEqual([['WatchRule/team/inherits', [a]], ['WatchRule/team/none', [a]]]);
    expect(rs.problems.map((p) => [p.ref.name, p.reason, p.message])).toEqual([['bad', 'InvalidSpec', expect.stringMatching(/secretEncryption\.ageRecipients\.0: is not a valid age public key/)]]);
    const plain = compileRuleSet({ repos: [grc('team', 'audit')], rules: [wr('team', 'r', {})], clusterRules: [], ownNamespace: 'kubescribe' });
    expect(plain.routes[0]?.ageRecipients).toEqual([]);
  });

  it('reports problems with the field to fix', () => {
    const rs = compileRuleSet({
      repos: [grc('team', 'audit', { allowedBranches: ['main', 'audit/*'] }), grc('team', 'bad', { url: 'ftp://x' })],
      rules: [wr('team', 'branch', { branch: 'dev' }), wr('team', 'norepo', { gitRepoConfigRef: { name: 'nope' } }), wr('team', 'dots', { branch: 'a..b' }), wr('team', 'ok', { branch: 'audit/x' })],
      clusterRules: [], ownNamespace: 'kubescribe',
    });
    expect(rs.problems.map((p) => [p.ref.name, p.reason])).toEqual([['bad', 'InvalidSpec'], ['branch', 'BranchNotAllowed'], ['norepo', 'InvalidSpec'], ['dots', 'InvalidSpec']]);
    expect(rs.problems.find((p) => p.ref.name === 'bad')?.message).toMatch(/spec\.url/);
    expect(rs.problems.find((p) => p.ref.name === 'dots')?.message).toMatch(/spec\.branch/);
    expect(rs.routes.map((r) => r.key)).toEqual(['WatchRule/team/ok']);
  });

  it('applies ClusterWatchRule scope and namespace selector, never its own namespace', () => {
    const cwr = { metadata: { name: 'c', generation: 1 }, spec: { gitRepoConfigRef: { name: 'audit', namespace: 'team' }, rules: [{ apiGroups: ['*'], resources: ['*'] }], scope: 'Namespaced', namespaceSelector: { matchLabels: { audited: 'true' } } } };
    const [route] = compileRuleSet({ repos: [grc('team', 'audit')], rules: [], clusterRules: [cwr], ownNamespace: 'kubescribe' }).routes;
    expect(route?.namespace('a', { audited: 'true' })).toBe(true);
    expect(route?.namespace('b', {})).toBe(false);
    expect(route?.namespace('', undefined)).toBe(false);
    expect(route?.namespace('kubescribe', { audited: 'true' })).toBe(false);
  });

  it('excludes users and field managers by glob', () => {
    const [route] = compileRuleSet({ repos: [grc('t', 'audit')], rules: [wr('t', 'r', { excludeUsers: ['system:serviceaccount:flux-system:*'], excludeFieldManagers: ['argocd-*'] })], clusterRules: [], ownNamespace: 'k' }).routes;
    expect(route?.excluded({ username: 'system:serviceaccount:flux-system:kustomize', groups: [] })).toBe(true);
    expect(route?.excluded({ username: 'alice', groups: [], fieldManager: 'argocd-controller' })).toBe(true);
    expect(route?.excluded({ username: 'alice', groups: [], fieldManager: 'kubectl' })).toBe(false);
    expect(route?.excluded(undefined)).toBe(false);
  });

  it('resolves * through the catalogue but never to high-churn types unless named', () => {
    expect(typesFor([{ apiGroups: ['*'], resources: ['*'], operations: ['*'] }], catalogue).map((t) => t.resource)).toEqual(['configmaps', 'deployments', 'statefulsets']);
    expect(typesFor([{ apiGroups: [''], resources: ['events'], operations: ['*'] }], catalogue).map((t) => t.resource)).toEqual(['events']);
  });

  it('matches label selectors like Kubernetes', () => {
    const m = selectorMatcher({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'skip', operator: 'DoesNotExist' }] });
    expect(m({ app: 'web', tier: 'a' })).toBe(true);
    expect(m({ app: 'web', tier: 'c' })).toBe(false);
    expect(m({ app: 'web', tier: 'a', skip: '' })).toBe(false);
    expect(selectorMatcher(undefined)(undefined)).toBe(true);
  });
});

describe('CRD manifests', () => {
  it('in charts/kubescribe/crds are the ones generated from the schemas (npm run gen:crds)', () => {
    for (const { file, manifest } of allCrdManifests()) {
      const onDisk = parse(readFileSync(join(import.meta.dirname, '..', '..', 'charts', 'kubescribe', 'crds', file), 'utf8'));
      expect(onDisk, file).toEqual(manifest);
    }
  });
});
