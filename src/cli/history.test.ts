// `kubescribe history` on the synthetic audit story: order, users, operations, diffs, filters,
// kubectl resource names, json, colour and errors.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAuditRepo, type AuditRepo } from './testing/audit-repo.ts';
import { START, kubescribe } from './testing/run-cli.ts';

let tmp: string;
let story: AuditRepo;
const short = (step: keyof AuditRepo['commits']): string => story.commits[step].slice(0, 7);
const history = (...args: string[]) => kubescribe(['history', ...args, '--repo', story.dir]);

/** The header lines of text output: `<time>  <user>  <OPERATION>  <sha>`. */
const headers = (stdout: string): string[][] =>
  stdout
    .split('\n')
    .filter((l) => /^\d{4}-\d{2}-\d{2}T/.test(l))
    .map((l) => l.split(/\s{2,}/));

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'kubescribe-history-'));
  story = await buildAuditRepo(join(tmp, 'audit'), { start: START });
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('history of a ConfigMap: created by alice, changed by bob, deleted by carol', () => {
  it('lists the three changes newest first with time, user, operation and commit', async () => {
    const { code, stdout, stderr } = await history('cm', 'shop/settings');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(headers(stdout)).toEqual([
      ['2025-01-10T11:00:00Z', 'carol', 'DELETE', short('cmDelete')],
      ['2025-01-10T10:00:00Z', 'bob', 'UPDATE', short('cmUpdate')],
      ['2025-01-10T09:00:00Z', 'alice', 'CREATE', short('cmCreate')],
    ]);
  });

  it("shows bob's change as a diff of the one key he changed", async () => {
    const { stdout } = await history('cm', 'shop/settings', '--user', 'bob');
    const lines = stdout.split('\n');
    expect(lines).toContain('-  color: blue');
    expect(lines).toContain('+  color: green');
    expect(lines).toContain('   size: medium');
    expect(lines.filter((l) => /^[-+][^-+]/.test(l))).toHaveLength(2);
  });

  it('shows a delete as the removal of every line, a create as the addition of every line', async () => {
    const { stdout } = await history('cm', 'shop/settings');
    const [deleted = '', , created = ''] = stdout.split(/\n(?=\d{4}-)/);
    expect(deleted).toContain('@@ -1,8 +0,0 @@\n-apiVersion: v1\n-kind: ConfigMap');
    expect(created).toContain('@@ -0,0 +1,8 @@\n+apiVersion: v1');
  });
});

describe('history of a Deployment: created by alice, scaled by bob, changed by a reconcile', () => {
  it('lists the reconcile, the scale and the create, and nothing of the other Deployment the reconcile touched', async () => {
    const { code, stdout } = await history('deploy', 'shop/web');
    expect(code).toBe(0);
    expect(headers(stdout)).toEqual([
      ['2025-01-10T14:00:00Z', 'kubescribe', 'RECONCILE', short('reconcile')],
      ['2025-01-10T13:00:00Z', 'bob', 'UPDATE', short('deployScale')],
      ['2025-01-10T12:00:00Z', 'alice', 'CREATE', short('deployCreate')],
    ]);
    expect(stdout).not.toContain('api:2.0');
  });

  it("shows bob's scale as -replicas: 1 / +replicas: 3 with context around it", async () => {
    const { stdout } = await history('deploy', 'shop/web', '--user', 'bob');
    expect(stdout).toBe(
      [
        `2025-01-10T13:00:00Z  bob  UPDATE  ${short('deployScale')}`,
        '@@ -6,7 +6,7 @@',
        '   name: web',
        '   namespace: shop',
        ' spec:',
        '-  replicas: 1',
        '+  replicas: 3',
        '   selector:',
        '     matchLabels:',
        '       app: web',
        '',
      ].join('\n'),
    );
  });

  it('shows what the reconcile changed', async () => {
    const { stdout } = await history('deploy', 'shop/web', '--user', 'kubescribe');
    expect(stdout).toContain('-        - image: nginx:1.25\n+        - image: nginx:1.27');
  });
});

describe('filters', () => {
  it('--user keeps only that user’s changes', async () => {
    const { stdout } = await history('deploy', 'shop/web', '--user', 'alice');
    expect(headers(stdout).map((h) => h[1])).toEqual(['alice']);
  });

  it.each([
    ['a duration', '5h'],
    ['an ISO date-time', '2025-01-10T13:00:00Z'],
  ])('--since %s keeps changes at or after that time', async (_, since) => {
    const { stdout } = await history('deploy', 'shop/web', '--since', since);
    expect(headers(stdout).map((h) => h[2])).toEqual(['RECONCILE', 'UPDATE']);
  });

  it('--since with an ISO date (midnight UTC) keeps the whole day', async () => {
    const { stdout } = await history('cm', 'shop/settings', '--since', '2025-01-10');
    expect(headers(stdout)).toHaveLength(3);
  });

  it('--limit keeps the newest n', async () => {
    const { stdout } = await history('deploy', 'shop/web', '--limit', '2');
    expect(headers(stdout).map((h) => h[2])).toEqual(['RECONCILE', 'UPDATE']);
  });

  it('filters combine', async () => {
    const { stdout } = await history('cm', 'shop/settings', '--user', 'alice', '--since', '2025-01-10T09:30:00Z');
    expect(stdout).toBe('');
  });

  it('a recorded object with no matching change is an empty answer, not an error', async () => {
    const { code, stdout, stderr } = await history('cm', 'shop/settings', '--since', '1h');
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toContain('no changes of shop/core/configmaps/settings.yaml match the filters');
  });
});

describe('resource names as kubectl accepts them', () => {
  describe.each([
    ['deploy', 'shop/web'],
    ['deployment', 'shop/web'],
    ['deployments', 'shop/web'],
    ['Deployment', 'shop/web'],
    ['deployments.apps', 'shop/web'],
    ['deployment.apps', 'shop/web'],
    ['deployments.v1.apps', 'shop/web'],
  ])('%s %s', (resource, object) => {
    it('finds the Deployment shop/web', async () => {
      const { code, stdout } = await history(resource, object);
      expect(code).toBe(0);
      expect(headers(stdout).map((h) => h[3])).toEqual([short('reconcile'), short('deployScale'), short('deployCreate')]);
    });
  });

  describe.each([['cm'], ['configmap'], ['configmaps'], ['ConfigMap']])('%s', (resource) => {
    it('finds the ConfigMap shop/settings', async () => {
      expect(headers((await history(resource, 'shop/settings')).stdout)).toHaveLength(3);
    });
  });

  describe.each([['svc'], ['service'], ['services'], ['Service']])('%s', (resource) => {
    it('finds the Service shop/web, made by an unknown user', async () => {
      expect(headers((await history(resource, 'shop/web')).stdout)).toEqual([['2025-01-10T16:00:00Z', 'unknown', 'CREATE', short('serviceCreate')]]);
    });
  });

  describe.each([['clusterrole'], ['clusterroles'], ['ClusterRole'], ['clusterroles.rbac.authorization.k8s.io']])('%s (cluster-scoped)', (resource) => {
    it('finds ClusterRole view, made by a service account', async () => {
      const { stdout } = await history(resource, 'view');
      expect(headers(stdout)).toEqual([['2025-01-10T15:00:00Z', 'system:serviceaccount:ci:deployer', 'CREATE', short('clusterRoleCreate')]]);
    });
  });

  it.each([
    [['deploy', 'web', '-n', 'shop']],
    [['deploy', 'web', '--namespace', 'shop']],
    [['deploy/web', '-n', 'shop']],
    [['deploy', 'shop/web', '-n', 'shop']],
  ])('%j names the same object', async (args) => {
    expect(headers((await history(...args)).stdout)).toHaveLength(3);
  });

  it('reads a custom resource given as <plural>.<group>', async () => {
    const { code, stdout } = await history('widgets.example.com', 'shop/gizmo');
    expect(code).toBe(0);
    expect(stdout).toContain('+kind: Widget');
  });
});

describe('json output', () => {
  it('gives every change with its full commit, groups, resource version and a patch', async () => {
    const { code, stdout } = await history('deploy', 'shop/web', '-o', 'json', '--limit', '2');
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as { path: string; object: unknown; branch: string; changes: Record<string, unknown>[] };
    expect(out.path).toBe('shop/apps/deployments/web.yaml');
    expect(out.object).toEqual({ group: 'apps', version: 'v1', resource: 'deployments', namespace: 'shop', name: 'web' });
    expect(out.branch).toBe('main');
    expect(out.changes[1]).toMatchObject({
      commit: story.commits.deployScale,
      time: '2025-01-10T13:00:00Z',
      user: 'bob',
      groups: ['system:authenticated', 'devs'],
      operation: 'UPDATE',
      effect: 'modified',
      resourceVersion: '2002',
      subject: 'UPDATE apps/v1 deployments shop/web',
    });
    expect(out.changes[1]?.diff).toContain('--- a/shop/apps/deployments/web.yaml\n+++ b/shop/apps/deployments/web.yaml\n@@ -6,7 +6,7 @@');
    expect(out.changes[0]).toMatchObject({ user: 'kubescribe', operation: 'RECONCILE', groups: [], resourceVersion: null });
  });

  it('marks a create with /dev/null as the old side', async () => {
    const { stdout } = await history('cm', 'shop/settings', '-o', 'json', '--user', 'alice');
    const out = JSON.parse(stdout) as { changes: { diff: string; effect: string }[] };
    expect(out.changes[0]?.effect).toBe('added');
    expect(out.changes[0]?.diff.startsWith('--- /dev/null\n+++ b/shop/core/configmaps/settings.yaml\n')).toBe(true);
  });
});

describe('colour', () => {
  const ESC = '\u001b[';
  it('is on for a terminal', async () => {
    const { stdout } = await kubescribe(['history', 'deploy', 'shop/web', '--repo', story.dir], { isTTY: true });
    expect(stdout).toContain(`${ESC}31m-  replicas: 1${ESC}39m`);
    expect(stdout).toContain(`${ESC}32m+  replicas: 3${ESC}39m`);
  });
  it.each([
    ['a pipe', { isTTY: false }, []],
    ['NO_COLOR', { isTTY: true, env: { NO_COLOR: '1' } }, []],
    ['--color never', { isTTY: true }, ['--color', 'never']],
    ['--output json', { isTTY: true }, ['-o', 'json']],
  ])('is off for %s', async (_, options, extra) => {
    const { stdout } = await kubescribe(['history', 'deploy', 'shop/web', '--repo', story.dir, ...extra], options);
    expect(stdout).not.toContain(ESC);
  });
  it('--color always forces it', async () => {
    const { stdout } = await kubescribe(['history', 'deploy', 'shop/web', '--repo', story.dir, '--color', 'always']);
    expect(stdout).toContain(ESC);
  });
});

describe('errors', () => {
  it('an unknown resource is a usage error with close names', async () => {
    const { code, stderr, stdout } = await history('deplyment', 'shop/web');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('unknown resource type "deplyment"; did you mean deployments?');
    expect(stderr).toContain('<plural>.<group>');
  });

  it('an object never recorded says which path was looked for, and where the name does exist', async () => {
    const { code, stderr } = await history('deploy', 'default/web');
    expect(code).toBe(1);
    expect(stderr).toContain('deployments.apps default/web was never recorded on branch main');
    expect(stderr).toContain('(looked for default/apps/deployments/web.yaml)');
    expect(stderr).toContain('hint: the same name is recorded in namespace shop');
  });

  it('a near-miss name gets the recorded names of the same folder', async () => {
    const { code, stderr } = await history('deploy', 'shop/we');
    expect(code).toBe(1);
    expect(stderr).toContain('hint: recorded in the same folder: web');
  });

  it('a namespaced resource without a namespace is a usage error', async () => {
    const { code, stderr } = await history('cm', 'settings');
    expect(code).toBe(2);
    expect(stderr).toContain('configmaps are namespaced');
  });

  it('a cluster-scoped resource with a namespace is a usage error', async () => {
    const { code, stderr } = await history('clusterrole', 'shop/view');
    expect(code).toBe(2);
    expect(stderr).toContain('clusterroles.rbac.authorization.k8s.io are cluster-scoped');
  });

  it.each([
    [['--since', 'yesterday'], '--since: "yesterday" is neither a duration'],
    [['--limit', '0'], '--limit must be a positive whole number'],
    [['--output', 'yaml'], '--output must be text or json'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['-n', 'other'], 'two namespaces given'],
  ])('%j is a usage error', async (extra, message) => {
    const { code, stderr } = await history('deploy', 'shop/web', ...extra);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });

  it('missing arguments is a usage error', async () => {
    const { code, stderr } = await kubescribe(['history']);
    expect(code).toBe(2);
    expect(stderr).toContain('usage: kubescribe history <resource> <namespace>/<name>');
  });

  it('an unknown branch is a runtime error listing the branches', async () => {
    const { code, stderr } = await history('deploy', 'shop/web', '--branch', 'prod');
    expect(code).toBe(1);
    expect(stderr).toContain('branch "prod" not found');
    expect(stderr).toContain('hint: branches: main');
  });

  it('a path that is no repository is a runtime error', async () => {
    const { code, stderr } = await kubescribe(['history', 'deploy', 'shop/web', '--repo', tmp]);
    expect(code).toBe(1);
    expect(stderr).toContain(`not a Git repository: ${tmp}`);
  });
});

describe('a repository written under a base folder', () => {
  let based: AuditRepo;
  beforeAll(async () => {
    based = await buildAuditRepo(join(tmp, 'based'), { start: START, baseFolder: 'clusters/prod' });
  });

  it('is read with --base-folder', async () => {
    const { code, stdout } = await kubescribe(['history', 'deploy', 'shop/web', '--repo', based.dir, '--base-folder', 'clusters/prod/']);
    expect(code).toBe(0);
    expect(headers(stdout)).toHaveLength(3);
  });

  it('or with KUBESCRIBE_BASE_FOLDER', async () => {
    const { stdout } = await kubescribe(['history', 'deploy', 'shop/web', '--repo', based.dir], { env: { KUBESCRIBE_BASE_FOLDER: 'clusters/prod' } });
    expect(headers(stdout)).toHaveLength(3);
  });

  it('without it, the error points at the folders found at the root', async () => {
    const { code, stderr } = await kubescribe(['history', 'deploy', 'shop/web', '--repo', based.dir]);
    expect(code).toBe(1);
    expect(stderr).toContain('hint: folders at the repository root: clusters; is --base-folder right?');
  });
});
