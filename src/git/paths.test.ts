import { describe, expect, it } from 'vitest';
import { assertSafeRepoPath, objectPath } from './paths.ts';

const ok = { baseFolder: '', namespace: 'shop', group: 'apps', resource: 'deployments', name: 'web' };

describe('objectPath', () => {
  it.each([
    [{ ...ok }, 'shop/apps/deployments/web.yaml'],
    [{ ...ok, group: '' , resource: 'configmaps' }, 'shop/core/configmaps/web.yaml'],
    [{ ...ok, namespace: undefined, group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: 'system:controller:job-controller' }, '_cluster/rbac.authorization.k8s.io/clusterroles/system:controller:job-controller.yaml'],
    [{ ...ok, namespace: '', name: 'a.b-c' }, '_cluster/apps/deployments/a.b-c.yaml'],
    [{ ...ok, baseFolder: 'clusters/prod-1' }, 'clusters/prod-1/shop/apps/deployments/web.yaml'],
  ])('lays out %j as %s', (loc, path) => {
    expect(objectPath(loc)).toBe(path);
    expect(() => assertSafeRepoPath(path)).not.toThrow();
  });

  describe.each([
    ['name', '..'],
    ['name', '.'],
    ['name', '../../etc/passwd'],
    ['name', 'a/b'],
    ['name', '.hidden'],
    ['name', '.git'],
    ['name', 'a\0b'],
    ['name', 'a\\b'],
    ['name', 'a..b'],
    ['name', 'a%2fb'],
    ['name', 'with space'],
    ['name', 'line\nbreak'],
    ['name', ''],
    ['name', 'x'.repeat(251)],
    ['name', '-leading-dash'],
    ['namespace', '../x'],
    ['namespace', 'Shop'],
    ['namespace', 'a/b'],
    ['namespace', 'x'.repeat(64)],
    ['group', '../apps'],
    ['group', 'apps/v1'],
    ['resource', '..'],
    ['resource', 'deploy/ments'],
    ['resource', ''],
    ['baseFolder', '/abs'],
    ['baseFolder', '../up'],
    ['baseFolder', 'a//b'],
    ['baseFolder', 'a/../b'],
    ['baseFolder', '.git'],
    ['baseFolder', 'a/'],
    ['baseFolder', 'a\\b'],
  ])('rejects %s %j', (field, value) => {
    it('with KUBESCRIBE_ERR_GIT_PATH_UNSAFE', () => {
      expect(() => objectPath({ ...ok, [field]: value })).toThrow(expect.objectContaining({ code: 'KUBESCRIBE_ERR_GIT_PATH_UNSAFE', terminal: true }));
    });
  });

  it('accepts the longest name that still fits a file name', () => {
    expect(objectPath({ ...ok, name: 'x'.repeat(250) })).toMatch(/x{250}\.yaml$/);
  });
});

describe('assertSafeRepoPath', () => {
  it.each(['../a', 'a/../b', '/a', 'a//b', 'a/', './a', 'a/.git/x', 'a/.GIT', 'a\\b', 'a\u0001b', ''])('rejects %j', (p) => {
    expect(() => assertSafeRepoPath(p)).toThrow(expect.objectContaining({ code: 'KUBESCRIBE_ERR_GIT_PATH_UNSAFE' }));
  });
});
