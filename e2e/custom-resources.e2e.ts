// Configuration by custom resources, changed at runtime, with status written back (issue 4).
// Each test has its own namespace and its own repositories on the stack's Git server.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBareRepo } from './stack/git-server.ts';
import { eventually, freshNamespace, git, kubectl, remoteLog, stackEnv } from './support.ts';

interface Cond { type: string; status: string; reason: string; message: string }
interface Status { conditions?: Cond[]; lastCommitSHA?: string; lastPushTime?: string; resources?: string[]; observedGeneration?: number }

let repoCounter = 0;
async function newRepo(prefix: string): Promise<{ name: string; url: string; path: string }> {
  const env = stackEnv();
  const name = `${prefix}-${process.pid}-${++repoCounter}`;
  await createBareRepo(env.git.root, name, { defaultBranch: 'main' });
  return { name, url: env.git.url.replace(/audit\.git$/, `${name}.git`), path: join(env.git.root, `${name}.git`) };
}

const apply = (obj: unknown): Promise<string> => kubectl('admin', ['apply', '-f', '-'], JSON.stringify(obj));

function credentialsSecret(ns: string, password = stackEnv().git.password, name = 'git-creds') {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, stringData: { username: stackEnv().git.username, password } };
}
function gitRepoConfig(ns: string, name: string, url: string, extra: Record<string, unknown> = {}) {
  return { apiVersion: 'kubescribe.dev/v1alpha1', kind: 'GitRepoConfig', metadata: { name, namespace: ns }, spec: { url, secretRef: { name: 'git-creds' }, push: { intervalSeconds: 1 }, ...extra } };
}
function watchRule(ns: string, name: string, repo: string, spec: Record<string, unknown>) {
  return { apiVersion: 'kubescribe.dev/v1alpha1', kind: 'WatchRule', metadata: { name, namespace: ns }, spec: { gitRepoConfigRef: { name: repo }, ...spec } };
}

async function status(kind: string, ns: string, name: string): Promise<Status> {
  return ((JSON.parse(await kubectl('admin', ['get', kind, name, '-n', ns, '-o', 'json'])) as { status?: Status }).status ?? {});
}
async function condition(kind: string, ns: string, name: string, type = 'Ready'): Promise<Cond | undefined> {
  return (await status(kind, ns, name)).conditions?.find((c) => c.type === type);
}
async function log(repoPath: string, branch = 'main', path?: string): Promise<Array<{ sha: string; author: string; subject: string; files: string[] }>> {
  try {
    const out = await git(repoPath, ['log', '--reverse', '--name-only', '--format=%x1e%H%x00%an%x00%s%x00', branch, ...(path ? ['--', path] : [])]);
    return out.split('\x1e').filter((x) => x.trim()).map((c) => {
      const [sha = '', author = '', subject = '', files = ''] = c.split('\0');
      return { sha, author, subject, files: files.split('\n').filter((f) => f.trim()) };
    });
  } catch {
    return [];
  }
}

/** The shared audit repo records every namespace: seeing a change there proves the pipeline handled it. */
async function barrier(path: string, n: number): Promise<void> {
  await eventually(`${n} commits for ${path} in the audit repo`, async () => (await remoteLog(path)).length >= n);
}

describe('custom resources', () => {
  beforeAll(async () => {
    await eventually('the CRDs are served', async () => (await kubectl('admin', ['get', 'crd', 'watchrules.kubescribe.dev', '-o', 'name'])).includes('watchrules'));
  });

  it('records what a GitRepoConfig + WatchRule say, reports Ready with the tip, follows edits, stops on delete', async () => {
    const ns = await freshNamespace('cr');
    const repo = await newRepo('cr-basic');
    await apply(credentialsSecret(ns));
    await apply(gitRepoConfig(ns, 'audit', repo.url));
    await apply(watchRule(ns, 'cms', 'audit', { rules: [{ apiGroups: [''], resources: ['configmaps'] }] }));
    await eventually('WatchRule active', async () => (await condition('watchrule', ns, 'cms'))?.reason === 'Active');
    await kubectl('alice', ['create', 'configmap', 'one', '-n', ns, '--from-literal=a=1']);
    const path = `${ns}/core/configmaps/one.yaml`;
    const commits = await eventually('alice\'s commit in the rule\'s repo', async () => {
      const l = await log(repo.path, 'main', path);
      return l.length > 0 ? l : undefined;
    });
    expect(commits.map((c) => c.author)).toEqual(['alice']);
    await eventually('GitRepoConfig Ready with lastCommitSHA = branch tip', async () => {
      const s = await status('gitrepoconfig', ns, 'audit');
      const tip = (await git(repo.path, ['rev-parse', 'main'])).trim();
      const ready = s.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'True' && s.lastCommitSHA === tip && !!s.lastPushTime;
    });

    // Add a resource type to the rule: recorded without a restart.
    await apply(watchRule(ns, 'cms', 'audit', { rules: [{ apiGroups: [''], resources: ['configmaps', 'services'] }] }));
    await eventually('rule covers services', async () => (await status('watchrule', ns, 'cms')).resources?.includes('core/services'));
    await kubectl('bob', ['create', 'service', 'clusterip', 'api', '-n', ns, '--tcp=80:8080']);
    await eventually('service recorded', async () => (await log(repo.path, 'main', `${ns}/core/services/api.yaml`)).some((c) => c.author === 'bob'));

    // Delete the rule: no longer recorded.
    await kubectl('admin', ['delete', 'watchrule', 'cms', '-n', ns]);
    await eventually('the WatchRule is deleted', async () => !(await kubectl('admin', ['get', 'watchrules', '-n', ns, '-o', 'name'])).includes('cms'));
    await new Promise((r) => setTimeout(r, 500)); // the controller debounces configuration changes by 100 ms
    const before = (await log(repo.path)).length;
    await kubectl('carol', ['patch', 'configmap', 'one', '-n', ns, '--type=merge', '-p', '{"data":{"a":"2"}}']);
    await barrier(path, 2);
    await new Promise((r) => setTimeout(r, 1500)); // a push interval: anything routed there would have landed
    expect((await log(repo.path)).length).toBe(before);
  });

  it('sends each change only where its rule says: two rules, two repos, branches and folders', async () => {
    const nsA = await freshNamespace('cra');
    const nsB = await freshNamespace('crb');
    const repoX = await newRepo('cr-x');
    const repoY = await newRepo('cr-y');
    for (const [ns, repo] of [[nsA, repoX], [nsB, repoY]] as const) {
      await apply(credentialsSecret(ns));
      await apply(gitRepoConfig(ns, 'audit', repo.url, { allowedBranches: ['main', 'audit/*'] }));
    }
    await apply(watchRule(nsA, 'a', 'audit', { branch: 'main', baseFolder: 'team-a', rules: [{ apiGroups: [''], resources: ['configmaps'] }] }));
    await apply(watchRule(nsB, 'b', 'audit', { branch: 'audit/b', baseFolder: 'clusters/dev', rules: [{ apiGroups: [''], resources: ['configmaps'] }] }));
    await eventually('both rules active', async () => (await condition('watchrule', nsA, 'a'))?.reason === 'Active' && (await condition('watchrule', nsB, 'b'))?.reason === 'Active');
    await kubectl('alice', ['create', 'configmap', 'x', '-n', nsA]);
    await kubectl('bob', ['create', 'configmap', 'y', '-n', nsB]);
    const filesX = await eventually('repo X has team-a/…/x', async () => {
      const f = (await log(repoX.path, 'main')).flatMap((c) => c.files).filter((p) => !p.startsWith('.kubescribe/'));
      return f.includes(`team-a/${nsA}/core/configmaps/x.yaml`) ? f : undefined;
    });
    const filesY = await eventually('repo Y branch audit/b has clusters/dev/…/y', async () => {
      const f = (await log(repoY.path, 'audit/b')).flatMap((c) => c.files).filter((p) => !p.startsWith('.kubescribe/'));
      return f.includes(`clusters/dev/${nsB}/core/configmaps/y.yaml`) ? f : undefined;
    });
    expect(filesX.every((f) => f.startsWith(`team-a/${nsA}/`))).toBe(true);
    expect(filesY.every((f) => f.startsWith(`clusters/dev/${nsB}/`))).toBe(true);
    expect(await log(repoY.path, 'main')).toEqual([]);
  });

  it('records objects of a CRD installed after start, covered by a "*" rule', async () => {
    const ns = await freshNamespace('crd');
    const repo = await newRepo('cr-star');
    const group = `g${process.pid}.e2e.kubescribe.dev`;
    await apply(credentialsSecret(ns));
    await apply(gitRepoConfig(ns, 'audit', repo.url));
    await apply(watchRule(ns, 'all', 'audit', { rules: [{ apiGroups: [group], resources: ['*'] }] }));
    await apply({
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `widgets.${group}` },
      spec: { group, scope: 'Namespaced', names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } } }] },
    });
    await eventually('the rule picked up widgets', async () => (await status('watchrule', ns, 'all')).resources?.includes(`${group}/widgets`), 60_000);
    await eventually('the webhook rules include widgets', async () => (await kubectl('admin', ['get', 'validatingwebhookconfiguration', 'kubescribe', '-o', 'json'])).includes(`"widgets"`));
    await apply({ apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1', namespace: ns }, spec: { size: 3 } });
    const commits = await eventually('the widget is recorded', async () => {
      const l = await log(repo.path, 'main', `${ns}/${group}/widgets/w1.yaml`);
      return l.length > 0 ? l : undefined;
    });
    expect(commits[0]!.author).toBe('admin');
    expect(await git(repo.path, ['show', `main:${ns}/${group}/widgets/w1.yaml`])).toMatch(/size: 3/);
    await kubectl('admin', ['delete', 'crd', `widgets.${group}`, '--wait=false']);
  });

  it('reports AccessDenied for a wrong password and, once the Secret is fixed, pushes what waited', async () => {
    const ns = await freshNamespace('crauth');
    const repo = await newRepo('cr-auth');
    await apply(credentialsSecret(ns, 'wrong-password'));
    await apply(gitRepoConfig(ns, 'audit', repo.url));
    await apply(watchRule(ns, 'cms', 'audit', { rules: [{ apiGroups: [''], resources: ['configmaps'] }] }));
    const denied = await eventually('AccessDenied', async () => {
      const c = await condition('gitrepoconfig', ns, 'audit');
      return c?.reason === 'AccessDenied' ? c : undefined;
    });
    expect(denied.status).toBe('False');
    expect(denied.message).toMatch(/401|denied|credentials|authenticat/i);
    expect(denied.message).not.toContain('wrong-password');
    await kubectl('alice', ['create', 'configmap', 'waiting', '-n', ns, '--from-literal=k=v']);
    await kubectl('bob', ['patch', 'configmap', 'waiting', '-n', ns, '--type=merge', '-p', '{"data":{"k":"w"}}']);
    await apply(credentialsSecret(ns));
    const commits = await eventually('the waiting changes are pushed', async () => {
      const l = await log(repo.path, 'main', `${ns}/core/configmaps/waiting.yaml`);
      return l.length >= 2 ? l : undefined;
    }, 60_000);
    expect(commits.map((c) => c.author)).toEqual(['alice', 'bob']);
    await eventually('Ready again', async () => (await condition('gitrepoconfig', ns, 'audit'))?.status === 'True', 30_000);
  });

  it('a GitRepoConfig deleted while its changes wait takes its gauges with it, so no alert stays up', async () => {
    const ns = await freshNamespace('crgone');
    const repo = await newRepo('cr-gone');
    await apply(credentialsSecret(ns, 'wrong-password'));
    await apply(gitRepoConfig(ns, 'audit', repo.url));
    await apply(watchRule(ns, 'cms', 'audit', { rules: [{ apiGroups: [''], resources: ['configmaps'] }] }));
    await eventually('AccessDenied', async () => (await condition('gitrepoconfig', ns, 'audit'))?.reason === 'AccessDenied');
    // Every replica's metrics: whichever leads exports the destination's series.
    const series = async (): Promise<string[]> => (await Promise.all(stackEnv().kubescribe!.replicas.map(async (r) => (await (await fetch(r.metricsUrl)).text()).split('\n'))))
      .flat().filter((l) => l.startsWith('kubescribe_queue_') && l.includes(`repo="${repo.url}"`));
    await kubectl('alice', ['create', 'configmap', 'stuck', '-n', ns, '--from-literal=k=v']);
    // The destination's first snapshot (added at runtime) and alice's change wait: it never opened.
    await eventually('changes wait in the destination\'s queue', async () => (await series()).some((l) => /^kubescribe_queue_depth\{.*\} [1-9]/.test(l)));
    await kubectl('admin', ['delete', 'gitrepoconfig', 'audit', '-n', ns]);
    await eventually('the destination\'s series are gone', async () => (await series()).length === 0);
  });

  it('rejects an invalid WatchRule by schema, or reports InvalidSpec saying what to fix', async () => {
    const ns = await freshNamespace('crbad');
    const repo = await newRepo('cr-bad');
    await apply(credentialsSecret(ns));
    await apply(gitRepoConfig(ns, 'audit', repo.url, { allowedBranches: ['main'] }));
    await expect(apply(watchRule(ns, 'empty', 'audit', { rules: [] }))).rejects.toThrow(/spec.rules.*at least 1/);
    await expect(apply(watchRule(ns, 'ops', 'audit', { rules: [{ apiGroups: [''], resources: ['configmaps'], operations: ['PATCH'] }] }))).rejects.toThrow(/operations/);
    await apply(watchRule(ns, 'branch', 'audit', { branch: 'a..b', rules: [{ apiGroups: [''], resources: ['configmaps'] }] }));
    await apply(watchRule(ns, 'notallowed', 'audit', { branch: 'other', rules: [{ apiGroups: [''], resources: ['configmaps'] }] }));
    await apply(watchRule(ns, 'typo', 'audit', { rules: [{ apiGroups: [''], resources: ['confimaps'] }] }));
    await apply(watchRule(ns, 'norepo', 'missing', { rules: [{ apiGroups: [''], resources: ['configmaps'] }] }));
    const expectations: Array<[string, string, RegExp]> = [
      ['branch', 'InvalidSpec', /spec\.branch/],
      ['notallowed', 'BranchNotAllowed', /other.*allowedBranches: main/],
      ['typo', 'InvalidSpec', /confimaps/],
      ['norepo', 'InvalidSpec', /GitRepoConfig .*missing/],
    ];
    for (const [name, reason, message] of expectations) {
      const c = await eventually(`${name}: ${reason}`, async () => {
        const x = await condition('watchrule', ns, name);
        return x?.reason === reason ? x : undefined;
      });
      expect(c.status).toBe('False');
      expect(c.message).toMatch(message);
      expect((await condition('watchrule', ns, name, 'Stalled'))?.status).toBe('True');
    }
  });

  it('makes no commit for a change by an excluded user or field manager', async () => {
    const ns = await freshNamespace('crex');
    const repo = await newRepo('cr-ex');
    await apply(credentialsSecret(ns));
    await apply(gitRepoConfig(ns, 'audit', repo.url));
    await apply(watchRule(ns, 'cms', 'audit', { rules: [{ apiGroups: [''], resources: ['configmaps'] }], excludeUsers: ['bob'], excludeFieldManagers: ['flux-*'] }));
    await eventually('rule active', async () => (await condition('watchrule', ns, 'cms'))?.reason === 'Active');
    const path = `${ns}/core/configmaps/cfg.yaml`;
    await kubectl('alice', ['create', 'configmap', 'cfg', '-n', ns, '--from-literal=v=1']);
    await eventually('alice recorded', async () => (await log(repo.path, 'main', path)).length === 1);
    await kubectl('bob', ['patch', 'configmap', 'cfg', '-n', ns, '--type=merge', '-p', '{"data":{"v":"2"}}']);
    await kubectl('alice', ['apply', '--server-side', '--force-conflicts', '--field-manager=flux-kustomize', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: ns }, data: { v: '3' } }));
    await kubectl('carol', ['patch', 'configmap', 'cfg', '-n', ns, '--type=merge', '-p', '{"data":{"v":"4"}}']);
    const commits = await eventually('carol recorded', async () => {
      const l = await log(repo.path, 'main', path);
      return l.length >= 2 ? l : undefined;
    });
    expect(commits.map((c) => c.author)).toEqual(['alice', 'carol']);
  });
});
