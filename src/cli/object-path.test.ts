// The read side of the layout contract against the writer's own path function.
import { describe, expect, it } from 'vitest';
import { normalizeBaseFolder, objectPath, parseObjectPath, type ObjectRef } from './object-path.ts';

describe('objectPath and parseObjectPath', () => {
  it.each<[string, ObjectRef, string]>([
    ['', { group: 'apps', resource: 'deployments', namespace: 'shop', name: 'web' }, 'shop/apps/deployments/web.yaml'],
    ['', { group: '', resource: 'configmaps', namespace: 'shop', name: 'settings' }, 'shop/core/configmaps/settings.yaml'],
    ['', { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', namespace: undefined, name: 'view' }, '_cluster/rbac.authorization.k8s.io/clusterroles/view.yaml'],
    ['', { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', namespace: undefined, name: 'system:aggregate-to-view' }, '_cluster/rbac.authorization.k8s.io/clusterroles/system:aggregate-to-view.yaml'],
    ['clusters/prod', { group: 'example.com', resource: 'widgets', namespace: 'shop', name: 'gizmo' }, 'clusters/prod/shop/example.com/widgets/gizmo.yaml'],
  ])('under "%s", %j lives at %s, and the path reads back', (base, ref, path) => {
    expect(objectPath(base, ref)).toBe(path);
    const relative = base === '' ? path : path.slice(base.length + 1);
    expect(parseObjectPath(relative)).toEqual(ref);
  });

  it('normalizes the base folder', () => {
    expect(normalizeBaseFolder('/clusters//prod/')).toBe('clusters/prod');
    expect(normalizeBaseFolder('./')).toBe('');
    expect(objectPath('/clusters/prod/', { group: '', resource: 'secrets', namespace: 'a', name: 'b' })).toBe('clusters/prod/a/core/secrets/b.yaml');
  });

  it.each([['..', '%2E%2E'], ['a b', 'a%20b'], ['.hidden', '%2Ehidden']])('looks for the name %j where the writer puts it (%s.yaml)', (name, file) => {
    expect(objectPath('', { group: '', resource: 'configmaps', namespace: 'shop', name })).toBe(`shop/core/configmaps/${file}.yaml`);
  });

  it.each([['README.md'], ['shop/core/configmaps'], ['shop/core/configmaps/x.json'], ['a/b/c/d/e.yaml'], ['shop/core/configmaps/.yaml']])('ignores %s, which is outside the layout', (path) => {
    expect(parseObjectPath(path)).toBeUndefined();
  });
});
