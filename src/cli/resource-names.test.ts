// kubectl's names for built-in resources, <plural>.<group> for the rest, suggestions otherwise.

import { describe, expect, it } from 'vitest';
import { BUILTIN_RESOURCES, displayResource, resolveResource, suggestResources } from './resource-names.ts';

describe('resolveResource', () => {
  describe.each([
    ['deploy', 'apps', 'deployments', true],
    ['deployment', 'apps', 'deployments', true],
    ['deployments', 'apps', 'deployments', true],
    ['Deployment', 'apps', 'deployments', true],
    ['DEPLOYMENTS', 'apps', 'deployments', true],
    ['cm', '', 'configmaps', true],
    ['ConfigMap', '', 'configmaps', true],
    ['svc', '', 'services', true],
    ['secret', '', 'secrets', true],
    ['sa', '', 'serviceaccounts', true],
    ['ing', 'networking.k8s.io', 'ingresses', true],
    ['ingress', 'networking.k8s.io', 'ingresses', true],
    ['cronjob', 'batch', 'cronjobs', true],
    ['cj', 'batch', 'cronjobs', true],
    ['sts', 'apps', 'statefulsets', true],
    ['hpa', 'autoscaling', 'horizontalpodautoscalers', true],
    ['netpol', 'networking.k8s.io', 'networkpolicies', true],
    ['pdb', 'policy', 'poddisruptionbudgets', true],
    ['crd', 'apiextensions.k8s.io', 'customresourcedefinitions', false],
    ['crds', 'apiextensions.k8s.io', 'customresourcedefinitions', false],
    ['clusterrole', 'rbac.authorization.k8s.io', 'clusterroles', false],
    ['ClusterRoleBinding', 'rbac.authorization.k8s.io', 'clusterrolebindings', false],
    ['ns', '', 'namespaces', false],
    ['pv', '', 'persistentvolumes', false],
    ['pvc', '', 'persistentvolumeclaims', true],
    ['sc', 'storage.k8s.io', 'storageclasses', false],
    ['deployments.apps', 'apps', 'deployments', true],
    ['deployments.v1.apps', 'apps', 'deployments', true],
    ['ingresses.networking.k8s.io', 'networking.k8s.io', 'ingresses', true],
  ] as const)('%s', (input, group, resource, namespaced) => {
    it(`is ${resource} in group "${group}", ${namespaced ? 'namespaced' : 'cluster-scoped'}`, () => {
      expect(resolveResource(input)).toMatchObject({ group, resource, namespaced });
    });
  });

  it.each([
    ['widgets.example.com', 'example.com', 'widgets', undefined],
    ['Widgets.Example.com', 'example.com', 'widgets', undefined],
    ['certificates.cert-manager.io', 'cert-manager.io', 'certificates', undefined],
    ['widgets.v1alpha1.example.com', 'example.com', 'widgets', 'v1alpha1'],
  ])('%s is a custom resource <plural>.<group> of unknown scope', (input, group, resource, version) => {
    expect(resolveResource(input)).toEqual({ group, resource, version, kind: undefined, namespaced: undefined });
  });

  it('keeps the preferred version of built-ins, or the one typed', () => {
    expect(resolveResource('hpa').version).toBe('v2');
    expect(resolveResource('deployments.v1beta1.apps').version).toBe('v1beta1');
  });

  it.each([
    ['deplyment', 'deployments'],
    ['configmpa', 'configmaps'],
    ['secrte', 'secrets'],
    ['clusterrol', 'clusterroles'],
  ])('rejects %s as a usage error suggesting %s', (input, suggestion) => {
    expect(() => resolveResource(input)).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringContaining(`did you mean ${suggestion}`) as string }));
  });

  it.each([['widget'], ['foo..bar'], ['.apps'], ['x/y']])('rejects %s', (input) => {
    expect(() => resolveResource(input)).toThrow(expect.objectContaining({ exitCode: 2 }));
  });
});

describe('the table', () => {
  it('has no alias naming two resources', () => {
    const seen = new Map<string, string>();
    for (const b of BUILTIN_RESOURCES) {
      for (const alias of [b.resource, b.kind.toLowerCase(), ...b.shortNames]) {
        expect(seen.get(alias) ?? b.resource, alias).toBe(b.resource);
        seen.set(alias, b.resource);
      }
    }
  });

  it('suggests nothing for something far from every name', () => {
    expect(suggestResources('zzzzzzzz')).toEqual([]);
  });

  it('prints resources as kubectl does', () => {
    expect(displayResource({ group: '', resource: 'configmaps' })).toBe('configmaps');
    expect(displayResource({ group: 'apps', resource: 'deployments' })).toBe('deployments.apps');
  });
});
