// Several clusters into one repository (issue 17 part 2): the shared control plane ("east") and a
// private one ("west"), each with its own kubescribe, both writing to the same repository and
// branch while three users change objects on each. Every change of both lands once, with its
// author, under its cluster's folder and with its Kubescribe-Cluster trailer; each cluster keeps
// its own checkpoint file (pushes that lose the race are replayed without clobbering the other's);
// `kubescribe who --cluster` filters; and a restarted west replays from its own checkpoint only.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './stack/stack.ts';
import { startInstance, type Instance } from './stack/instance.ts';
import { startPrivateCluster, type PrivateCluster } from './stack/private-cluster.ts';
import { eventually, freshNamespace, git, parallel, stackEnv, type User } from './support.ts';

const exec = promisify(execFile);
const USERS: User[] = ['alice', 'bob', 'carol'];
const PER_USER = 5;

interface Commit { sha: string; author: string; subject: string; cluster: string; files: string[] }

async function history(repo: string): Promise<Commit[]> {
  const sep = '\u001e';
  const out = await git(repo, ['log', '--reverse', '--name-only', `--format=${sep}%H%x00%an%x00%s%x00%(trailers:key=Kubescribe-Cluster,valueonly,separator=)%x00`, 'main']);
  return out.split(sep).filter((c) => c.trim()).map((c) => {
    const [sha = '', author = '', subject = '', cluster = '', rest = ''] = c.split('\0');
    return { sha, author, subject, cluster: cluster.trim(), files: rest.split('\n').filter(Boolean) };
  });
}

describe('two clusters, one repository and branch', () => {
  let west: PrivateCluster;
  let eastInst: Instance;
  let westInst: Instance;
  let nsEast: string;
  const nsWest = `west-${process.pid}`;
  const names = USERS.flatMap((u) => Array.from({ length: PER_USER }, (_, i) => `${u}-${i}`));
  const run = {
    east: (user: string, args: string[]) => exec(stackEnv().bin.kubectl, ['--kubeconfig', stackEnv().kubeconfigs[user as User], ...args]),
    west: (user: string, args: string[]) => west.kubectl(user, args),
  };

  beforeAll(async () => {
    nsEast = await freshNamespace('east');
    west = await startPrivateCluster(stackEnv(), 'west');
    await west.kubectl('admin', ['create', 'namespace', nsWest]);
    eastInst = await startInstance(stackEnv(), { name: 'east', namespaces: [nsEast], resources: ['configmaps'], settings: (s) => { s.cluster = { name: 'east' }; } });
    westInst = await west.startInstance({
      name: 'west', namespaces: [nsWest], resources: ['configmaps'],
      settings: (s) => {
        s.cluster = { name: 'west' };
        // The same repository and branch as east.
        Object.assign(s.git as Record<string, unknown>, { url: eastInst.git.url, usernameFile: join(eastInst.dir, 'git-username'), passwordFile: join(eastInst.dir, 'git-password') });
      },
    });
    await Promise.all([eastInst.startKubescribe(), westInst.startKubescribe()]);
  });
  afterAll(async () => {
    await westInst?.close();
    await eastInst?.close();
    await west?.close();
  });

  it('lands every change of both clusters once, with its author, under its folder, each cluster with its own checkpoints', async () => {
    // Three users on each cluster at once: create, then patch each of their objects.
    const load = (c: 'east' | 'west', ns: string) => async () => {
      await parallel<unknown>(3, names.map((n) => () => run[c](n.split('-')[0]!, ['create', 'configmap', n, '-n', ns, `--from-literal=by=${n}`])));
      await parallel<unknown>(3, names.map((n) => () => run[c](n.split('-')[0]!, ['patch', 'configmap', n, '-n', ns, '--type=merge', '-p', '{"data":{"v":"2"}}'])));
    };
    await Promise.all([load('east', nsEast)(), load('west', nsWest)()]);

    const path = (cluster: string, ns: string, n: string): string => `${cluster}/${ns}/core/configmaps/${n}.yaml`;
    const all = await eventually('both clusters\' 60 changes committed', async () => {
      const h = await history(eastInst.git.repo);
      const done = names.every((n) => [path('east', nsEast, n), path('west', nsWest, n)].every((p) => h.filter((c) => c.files.includes(p)).length >= 2));
      return done ? h : undefined;
    }, 120_000);
    for (const [cluster, ns] of [['east', nsEast], ['west', nsWest]] as const) {
      for (const n of names) {
        const touching = all.filter((c) => c.files.includes(path(cluster, ns, n)));
        expect(touching.map((c) => c.subject.split(' ')[0]), `${cluster} ${n}`).toEqual(['CREATE', 'UPDATE']);
        expect(touching.map((c) => c.author), `${cluster} ${n}`).toEqual([n.split('-')[0], n.split('-')[0]]);
        expect(touching.map((c) => c.cluster)).toEqual([cluster, cluster]);
      }
    }
    // Each commit touches only its own cluster's folder and its own checkpoint file.
    for (const c of all.filter((x) => x.cluster)) {
      for (const f of c.files) expect(f.startsWith(`${c.cluster}/`) || f === `.kubescribe/checkpoints/${c.cluster}.json`, `${c.sha} ${c.subject}: ${f}`).toBe(true);
    }
    // Both checkpoint files are in the tip, each naming its own cluster by its kube-system uid.
    const uidArgs = ['get', 'namespace', 'kube-system', '-o', 'jsonpath={.metadata.uid}'];
    const uids = { east: (await run.east('admin', uidArgs)).stdout.trim(), west: (await west.kubectl('admin', uidArgs)).trim() };
    for (const cluster of ['east', 'west'] as const) {
      const file = JSON.parse(await git(eastInst.git.repo, ['show', `main:.kubescribe/checkpoints/${cluster}.json`])) as { cluster: { name: string; uid: string }; resourceVersions: Record<string, string> };
      expect(file.cluster).toEqual({ name: cluster, uid: uids[cluster] });
      expect(file.resourceVersions[`${cluster}|core/configmaps`]).toMatch(/^\d+$/);
    }
    expect(uids.east).not.toBe(uids.west);
  });

  it('kubescribe who --cluster lists only that cluster\'s changes', async () => {
    const { stdout } = await exec(process.execPath, [join(repoRoot, 'dist', 'cli', 'main.js'), 'who', '--cluster', 'west', '--repo', eastInst.git.repo, '-o', 'json']);
    const out = JSON.parse(stdout) as { changes: Array<{ cluster: string; path: string; user: string }> };
    expect(out.changes.length).toBeGreaterThanOrEqual(names.length * 2);
    for (const c of out.changes) {
      expect(c.cluster).toBe('west');
      expect(c.path.startsWith(`west/${nsWest}/`)).toBe(true);
    }
    // The controller-manager's kube-root-ca.crt in the namespace is west's too: under the
    // publisher's name, or kubescribe's reconcile when it was there before west's kubescribe started.
    const rootCa = (c: { path: string }): boolean => c.path.endsWith('/kube-root-ca.crt.yaml');
    expect(new Set(out.changes.filter((c) => !rootCa(c)).map((c) => c.user))).toEqual(new Set(USERS));
    for (const c of out.changes.filter(rootCa)) expect(['system:serviceaccount:kube-system:root-ca-cert-publisher', 'kubescribe']).toContain(c.user);
  });

  it('a restarted west replays the changes made while it was down from its own checkpoint, nothing else', async () => {
    const before = await history(eastInst.git.repo);
    const eastCheckpoint = await git(eastInst.git.repo, ['show', 'main:.kubescribe/checkpoints/east.json']);
    await westInst.stopKubescribe();
    await west.kubectl('alice', ['patch', 'configmap', 'alice-0', '-n', nsWest, '--type=merge', '-p', '{"data":{"v":"3"}}']);
    await west.kubectl('bob', ['delete', 'configmap', 'bob-0', '-n', nsWest]);
    await westInst.startKubescribe();
    const after = await eventually('the two changes replayed', async () => {
      const h = await history(eastInst.git.repo);
      return h.length >= before.length + 2 ? h : undefined;
    }, 60_000);
    const added = after.slice(before.length);
    // Replayed as the changes they were (from west's checkpoint), not a RECONCILE of everything.
    expect(added.map((c) => [c.subject, c.cluster])).toEqual([[`UPDATE v1 configmaps ${nsWest}/alice-0`, 'west'], [`DELETE v1 configmaps ${nsWest}/bob-0`, 'west']]);
    expect(await git(eastInst.git.repo, ['show', 'main:.kubescribe/checkpoints/east.json'])).toBe(eastCheckpoint);
  });
});
