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
    ['name', ''],
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

  // Kubernetes accepts such names for some kinds (RBAC: any path segment); they are recorded under
  // a percent-encoded file name that stays inside its folder. Kubernetes forbids `%` in names, so
  // an encoded file name never equals another name's.
  it.each([
    ['..', '%2E%2E'],
    ['.', '%2E'],
    ['../../etc/passwd', '%2E%2E%2F%2E%2E%2Fetc%2Fpasswd'],
    ['a/b', 'a%2Fb'],
    ['.hidden', '%2Ehidden'],
    ['.git', '%2Egit'],
    ['a\0b', 'a%00b'],
    ['a\\b', 'a%5Cb'],
    ['a..b', 'a%2E%2Eb'],
    ['a%2fb', 'a%252fb'],
    ['deploy bot', 'deploy%20bot'],
    ['line\nbreak', 'line%0Abreak'],
    ['-leading-dash', '-leading-dash'],
    ['ops-', 'ops-'],
    ['élan', '%C3%A9lan'],
  ])('encodes the name %j as the file %s.yaml', (name, file) => {
    const path = objectPath({ ...ok, name });
    expect(path).toBe(`shop/apps/deployments/${file}.yaml`);
    expect(() => assertSafeRepoPath(path)).not.toThrow();
  });

  it('shortens a name too long for a file name with a hash, keeping names apart', () => {
    const a = objectPath({ ...ok, name: `${'x'.repeat(300)}a` });
    const b = objectPath({ ...ok, name: `${'x'.repeat(300)}b` });
    expect(a).toMatch(/^shop\/apps\/deployments\/x{180}~[0-9a-f]{64}\.yaml$/);
    expect(a).not.toBe(b);
    expect(() => assertSafeRepoPath(a)).not.toThrow();
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
