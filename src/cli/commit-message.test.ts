// Reading the commit contract: trailers, the subject fallback, and agreement with the writer.

import { describe, expect, it } from 'vitest';
import { changeMessage, reconcileMessage } from '../git/commit-message.ts';
import { parseCommitMessage, parseResourceTrailer, parseTrailers } from './commit-message.ts';

const message = [
  'UPDATE apps/v1 deployments shop/web',
  '',
  'Kubescribe-Operation: UPDATE',
  'Kubescribe-Resource: apps/v1/deployments',
  'Kubescribe-Object: shop/web',
  'Kubescribe-User: alice',
  'Kubescribe-Groups: system:authenticated,devs',
  'Kubescribe-Resource-Version: 12345',
  '',
].join('\n');

describe('parseCommitMessage', () => {
  it('reads every trailer of the contract', () => {
    expect(parseCommitMessage(message)).toEqual({
      operation: 'UPDATE',
      user: 'alice',
      groups: ['system:authenticated', 'devs'],
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      object: { namespace: 'shop', name: 'web' },
      resourceVersion: '12345',
      candidates: [],
      deletion: undefined,
      releasedBy: undefined,
      causes: [],
    });
  });

  it.each([
    ['/v1/configmaps', { group: '', version: 'v1', resource: 'configmaps' }],
    ['v1/configmaps', { group: '', version: 'v1', resource: 'configmaps' }],
    ['rbac.authorization.k8s.io/v1/clusterroles', { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles' }],
    ['nonsense', undefined],
    ['a//b', undefined],
  ])('reads the resource trailer %s', (value, expected) => {
    expect(parseResourceTrailer(value)).toEqual(expected);
  });

  it('reads a cluster-scoped object', () => {
    expect(parseCommitMessage('CREATE rbac.authorization.k8s.io/v1 clusterroles view\n\nKubescribe-Object: view\n').object).toEqual({ namespace: undefined, name: 'view' });
  });

  it('falls back to the subject when the trailers are gone', () => {
    expect(parseCommitMessage('DELETE v1 configmaps shop/settings')).toMatchObject({
      operation: 'DELETE',
      user: undefined,
      resource: { group: '', version: 'v1', resource: 'configmaps' },
      object: { namespace: 'shop', name: 'settings' },
    });
  });

  it('tolerates CRLF, lower-case keys and a body before the trailers', () => {
    const m = parseCommitMessage('UPDATE v1 configmaps shop/a\r\n\r\nsome body\r\n\r\nkubescribe-user: bob\r\nKUBESCRIBE-OPERATION: update\r\n');
    expect(m.user).toBe('bob');
    expect(m.operation).toBe('UPDATE');
  });

  it('finds Kubescribe trailers that are not in the last paragraph', () => {
    expect(parseTrailers('X\n\nKubescribe-User: carol\n\nSigned-off-by: someone').get('kubescribe-user')).toBe('carol');
  });

  it('treats empty values as absent', () => {
    const m = parseCommitMessage('CREATE v1 services shop/web\n\nKubescribe-User: \nKubescribe-Groups: \n');
    expect(m.user).toBeUndefined();
    expect(m.groups).toEqual([]);
  });

  it('does not take a commit that is not kubescribe’s for one', () => {
    expect(parseCommitMessage('Initial commit')).toMatchObject({ operation: undefined, resource: undefined, object: undefined });
  });
});

describe('agreement with the writer (src/git/commit-message.ts)', () => {
  it('reads back what the writer writes for a change', () => {
    const written = changeMessage({ operation: 'UPDATE', group: '', version: 'v1', resource: 'configmaps', namespace: 'shop', name: 'settings', user: 'system:serviceaccount:ci:deployer', groups: ['system:serviceaccounts'], resourceVersion: '42' });
    expect(parseCommitMessage(written)).toEqual({
      operation: 'UPDATE',
      user: 'system:serviceaccount:ci:deployer',
      groups: ['system:serviceaccounts'],
      resource: { group: '', version: 'v1', resource: 'configmaps' },
      object: { namespace: 'shop', name: 'settings' },
      resourceVersion: '42',
      candidates: [],
      deletion: undefined,
      releasedBy: undefined,
      causes: [],
    });
  });

  it('reads back a held deletion and a change with candidates', () => {
    const done = parseCommitMessage(changeMessage({ operation: 'DELETE', group: '', version: 'v1', resource: 'configmaps', namespace: 'shop', name: 'held', user: 'bob', groups: [], resourceVersion: '50', deletion: 'completed', releasedBy: 'carol' }));
    expect(done).toMatchObject({ operation: 'DELETE', user: 'bob', deletion: 'completed', releasedBy: 'carol' });
    const either = parseCommitMessage(changeMessage({ operation: 'UPDATE', group: '', version: 'v1', resource: 'configmaps', namespace: 'shop', name: 'x', user: 'unknown', groups: [], resourceVersion: '51', candidates: ['alice', 'bob'] }));
    expect(either).toMatchObject({ user: 'unknown', candidates: ['alice', 'bob'] });
  });

  it('reads back the cause of a controller\'s deletion', () => {
    const cause = { users: ['bob'], deleted: 'namespace shop', controller: 'namespace controller' };
    const written = changeMessage({ operation: 'DELETE', group: '', version: 'v1', resource: 'configmaps', namespace: 'shop', name: 'x', user: 'system:serviceaccount:kube-system:namespace-controller', groups: [], resourceVersion: '60', cause });
    expect(written).toContain('\nRemoved by the namespace controller because bob deleted namespace shop.\n');
    expect(parseCommitMessage(written)).toMatchObject({ user: 'system:serviceaccount:kube-system:namespace-controller', causes: ['bob'] });
    const two = changeMessage({ operation: 'DELETE', group: 'apps', version: 'v1', resource: 'replicasets', namespace: 'shop', name: 'web-1', user: 'system:serviceaccount:kube-system:generic-garbage-collector', groups: [], resourceVersion: '61', cause: { users: ['alice', 'bob'], deleted: 'deployments shop/web', controller: 'garbage collector' } });
    expect(two).toContain('Removed by the garbage collector because alice or bob deleted deployments shop/web.');
    expect(parseCommitMessage(two).causes).toEqual(['alice', 'bob']);
    expect(parseCommitMessage(changeMessage({ operation: 'DELETE', group: '', version: 'v1', resource: 'configmaps', namespace: 'shop', name: 'x', user: 'carol', groups: [], resourceVersion: '62' })).causes).toEqual([]);
  });

  it('reads back what the writer writes for a cluster-scoped change', () => {
    const written = changeMessage({ operation: 'CREATE', group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles', namespace: '', name: 'view', user: 'alice', groups: [], resourceVersion: '7' });
    expect(parseCommitMessage(written).object).toEqual({ namespace: undefined, name: 'view' });
  });

  it('reads back what the writer writes for a reconcile', () => {
    const written = reconcileMessage({ group: 'apps', version: 'v1', resource: 'deployments', reason: 'start-up', created: ['shop/api'], updated: ['shop/web'], deleted: [], user: 'kubescribe' });
    expect(parseCommitMessage(written)).toMatchObject({ operation: 'RECONCILE', user: 'kubescribe', object: undefined, resource: { group: 'apps', version: 'v1', resource: 'deployments' } });
  });
});
