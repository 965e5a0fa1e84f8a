// `kubescribe who` on the synthetic audit story: one row per object changed, filters, json.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAuditRepo, type AuditRepo } from './testing/audit-repo.ts';
import { START, kubescribe } from './testing/run-cli.ts';

let tmp: string;
let story: AuditRepo;
const who = (...args: string[]) => kubescribe(['who', ...args, '--repo', story.dir]);
const rows = (stdout: string): string[][] =>
  stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split(/\s{2,}/));

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'kubescribe-who-'));
  story = await buildAuditRepo(join(tmp, 'audit'), { start: START });
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('who', () => {
  it('lists everything alice changed, newest first: time, user, operation, resource, object, commit', async () => {
    const { code, stdout } = await who('--user', 'alice');
    expect(code).toBe(0);
    const sha = (s: keyof AuditRepo['commits']): string => story.commits[s].slice(0, 7);
    expect(rows(stdout)).toEqual([
      ['2025-01-10T17:00:00Z', 'alice', 'CREATE', 'widgets.example.com', 'shop/gizmo', sha('widgetCreate')],
      ['2025-01-10T12:00:00Z', 'alice', 'CREATE', 'deployments.apps', 'shop/web', sha('deployCreate')],
      ['2025-01-10T09:00:00Z', 'alice', 'CREATE', 'configmaps', 'shop/settings', sha('cmCreate')],
    ]);
  });

  it('takes the user as an argument too', async () => {
    expect(rows((await who('carol')).stdout)).toEqual([['2025-01-10T11:00:00Z', 'carol', 'DELETE', 'configmaps', 'shop/settings', story.commits.cmDelete.slice(0, 7)]]);
  });

  it('--since keeps changes at or after that time', async () => {
    const { stdout } = await who('--user', 'alice', '--since', '6h');
    expect(rows(stdout).map((r) => r[4])).toEqual(['shop/gizmo', 'shop/web']);
  });

  it('lists one row per object of a reconcile commit', async () => {
    const { stdout } = await who('--user', 'kubescribe');
    expect(rows(stdout).map((r) => [r[2], r[3], r[4]])).toEqual([
      ['RECONCILE', 'deployments.apps', 'shop/api'],
      ['RECONCILE', 'deployments.apps', 'shop/web'],
    ]);
  });

  it('names cluster-scoped objects by name alone, and service accounts in full', async () => {
    const { stdout } = await who('--user', 'system:serviceaccount:ci:deployer');
    expect(rows(stdout).map((r) => [r[1], r[3], r[4]])).toEqual([['system:serviceaccount:ci:deployer', 'clusterroles.rbac.authorization.k8s.io', 'view']]);
  });

  it('without --user lists every change', async () => {
    const { stdout } = await who();
    expect(rows(stdout).map((r) => r[1])).toEqual(['alice', 'unknown', 'system:serviceaccount:ci:deployer', 'kubescribe', 'kubescribe', 'bob', 'alice', 'carol', 'bob', 'alice']);
  });

  it('--limit and -n narrow the list', async () => {
    expect(rows((await who('--limit', '2')).stdout).map((r) => r[4])).toEqual(['shop/gizmo', 'shop/web']);
    expect(rows((await who('-n', 'shop', '--user', 'system:serviceaccount:ci:deployer')).stdout)).toEqual([]);
  });

  it('says so on stderr when nothing matches, and exits 0', async () => {
    const { code, stdout, stderr } = await who('--user', 'dave', '--since', '24h');
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toBe('no changes by dave since 2025-01-09T18:00:00.000Z on branch main\n');
  });

  it('gives json for scripts', async () => {
    const { stdout } = await who('--user', 'bob', '-o', 'json');
    const out = JSON.parse(stdout) as { user: string; changes: Record<string, unknown>[] };
    expect(out.user).toBe('bob');
    expect(out.changes).toEqual([
      { commit: story.commits.deployScale, time: '2025-01-10T13:00:00Z', user: 'bob', cause: [], operation: 'UPDATE', cluster: null, effect: 'modified', group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: 'web', path: 'shop/apps/deployments/web.yaml' },
      { commit: story.commits.cmUpdate, time: '2025-01-10T10:00:00Z', user: 'bob', cause: [], operation: 'UPDATE', cluster: null, effect: 'modified', group: '', version: 'v1', resource: 'configmaps', namespace: 'shop', name: 'settings', path: 'shop/core/configmaps/settings.yaml' },
    ]);
  });

  it.each([
    [['--user', 'a', 'b'], 'two users given'],
    [['a', 'b'], 'unexpected argument "b"'],
    [['--since', '3 days'], '--since'],
  ])('%j is a usage error', async (args, message) => {
    const { code, stderr } = await who(...args);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });

  it('reads a repository written under a base folder, and only that folder', async () => {
    const based = await buildAuditRepo(join(tmp, 'based'), { start: START, baseFolder: 'clusters/prod' });
    const { stdout } = await kubescribe(['who', 'bob', '--repo', based.dir, '--base-folder', 'clusters/prod', '-o', 'json']);
    const out = JSON.parse(stdout) as { changes: { path: string }[] };
    expect(out.changes.map((c) => c.path)).toEqual(['clusters/prod/shop/apps/deployments/web.yaml', 'clusters/prod/shop/core/configmaps/settings.yaml']);
    const elsewhere = await kubescribe(['who', 'bob', '--repo', based.dir, '--base-folder', 'clusters/staging']);
    expect(elsewhere.stdout).toBe('');
  });
});
