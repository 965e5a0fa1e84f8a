// The local Git store under the pattern that broke it (issue 18): a big folder whose content goes
// back and forth between versions faster than the pushes, and a data dir already damaged by the
// old writer. Asserted on what a user checks: the remote's history and authors, /readyz, .status.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { destinationDir } from '../src/controller/destinations.ts';
import { startInstance, type Instance } from './stack/instance.ts';
import { eventually, freshNamespace, git, kubectl, stackEnv, type User } from './support.ts';

const exec = promisify(execFile);
const FIXTURE = resolve(import.meta.dirname, 'fixtures/delta-cycle/delta-cycle.tar.gz');

interface Entry { author: string; subject: string }
async function log(repo: string, path?: string): Promise<Entry[]> {
  const out = await git(repo, ['log', '--reverse', '--format=%an%x00%s', 'main', ...(path ? ['--', path] : [])]).catch(() => '');
  return out.split('\n').filter(Boolean).map((l) => {
    const [author = '', subject = ''] = l.split('\0');
    return { author, subject };
  });
}

const configMaps = (ns: string, n: number): string => JSON.stringify({
  apiVersion: 'v1', kind: 'List',
  items: Array.from({ length: n }, (_, i) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, namespace: ns }, data: { x: '1', filler: `object ${i} of a folder big enough for deltas` } })),
});

describe('the local Git store', () => {
  const instances: Instance[] = [];
  afterAll(async () => { for (const i of instances) await i.close(); });

  it('a big folder flipped back and forth by three users: every change pushed with its author, also after a restart', async () => {
    const ns = await freshNamespace('flip');
    const inst = await startInstance(stackEnv(), { name: 'flip', namespaces: [ns], resources: ['configmaps'] });
    instances.push(inst);
    await inst.startKubescribe();
    await kubectl('admin', ['apply', '-f', '-'], configMaps(ns, 300));
    const folder = `${ns}/core/configmaps`;
    await eventually('300 ConfigMaps in the remote', async () => (await log(inst.git.repo, folder)).length >= 300, 90_000, 500);

    // On one object after the other, back to back: x=2, 1, 2, 1, 2 by alice, bob, carol, alice,
    // bob — the folder returns to its earlier versions while pushes are on their way.
    const users: User[] = ['alice', 'bob', 'carol', 'alice', 'bob'];
    const flipped = ['cm-0', 'cm-150', 'cm-299'];
    for (const name of flipped) {
      for (const [i, user] of users.entries()) {
        await kubectl(user, ['patch', 'configmap', name, '-n', ns, '--type', 'merge', '-p', JSON.stringify({ data: { x: String(i % 2 === 0 ? 2 : 1) } })]);
      }
    }
    for (const name of flipped) {
      const history = await eventually(`5 updates of ${name} pushed`, async () => {
        const h = (await log(inst.git.repo, `${folder}/${name}.yaml`)).filter((e) => e.subject.startsWith('UPDATE'));
        return h.length >= 5 && h;
      }, 60_000, 300);
      expect(history.map((e) => e.author)).toEqual(users);
    }
    expect((await inst.replicas[0]!.state()).ready).toBe(true);
    await exec('git', ['--git-dir', inst.git.repo, 'fsck', '--strict']);

    // A restart comes back ready on the same data and keeps pushing.
    inst.killKubescribe();
    await inst.startKubescribe();
    await kubectl('carol', ['patch', 'configmap', 'cm-7', '-n', ns, '--type', 'merge', '-p', '{"data":{"x":"9"}}']);
    const after = await eventually('carol\'s change after the restart', async () => (await log(inst.git.repo, `${folder}/cm-7.yaml`)).find((e) => e.subject.startsWith('UPDATE')));
    expect(after.author).toBe('carol');
    for (const name of flipped) expect((await log(inst.git.repo, `${folder}/${name}.yaml`)).filter((e) => e.subject.startsWith('UPDATE')).map((e) => e.author)).toEqual(users);
  });

  it('a data dir with a delta cycle written by the old code: repaired at start, every pending commit pushed, said in .status', async () => {
    const env = stackEnv();
    const ns = await freshNamespace('cycle');
    const name = `cycle-${process.pid}-${Date.now().toString(36)}`;
    const url = env.git.url.replace(/audit\.git$/, `${name}.git`);
    // The remote as the old writer left it, and its data dir, placed where kubescribe keeps the
    // clone of this GitRepoConfig, before the GitRepoConfig exists.
    const tmp = await mkdtemp(join(env.stackDir, 'fixture-'));
    await exec('tar', ['-xzf', FIXTURE, '-C', tmp]);
    const remote = join(env.git.root, `${name}.git`);
    await cp(join(tmp, 'srv', 'audit.git'), remote, { recursive: true });
    const dataDir = destinationDir(env.kubescribe!.dataDir, { repoKey: `${ns}/${name}`, url, branch: 'main' });
    await mkdir(resolve(dataDir, '..'), { recursive: true });
    await cp(join(tmp, 'data'), dataDir, { recursive: true });
    await rm(tmp, { recursive: true, force: true });
    expect((await log(remote)).length).toBe(3);

    const apply = (obj: unknown): Promise<string> => kubectl('admin', ['apply', '-f', '-'], JSON.stringify(obj));
    await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git-creds', namespace: ns }, stringData: { username: env.git.username, password: env.git.password } });
    await apply({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'GitRepoConfig', metadata: { name, namespace: ns }, spec: { url, secretRef: { name: 'git-creds' }, push: { intervalSeconds: 1 } } });
    await apply({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'WatchRule', metadata: { name: 'live', namespace: ns }, spec: { gitRepoConfigRef: { name }, baseFolder: 'live', rules: [{ apiGroups: [''], resources: ['configmaps'] }] } });

    const history = await eventually('the 16 pending commits of the damaged store in the remote', async () => {
      const h = await log(remote, 'cyc');
      return h.length >= 19 && h;
    }, 60_000, 300);
    expect(history.map((e) => e.author).filter((a) => a !== 'admin').sort()).toEqual([...Array(6).fill('alice'), ...Array(6).fill('bob'), ...Array(6).fill('carol')]);
    await exec('git', ['--git-dir', remote, 'fsck', '--strict']);
    const status = await eventually('.status says the store was repaired', async () => {
      const s = (JSON.parse(await kubectl('admin', ['get', 'gitrepoconfig', name, '-n', ns, '-o', 'json'])) as { status?: { lastStoreRepair?: { action: string; salvagedCommits: number; lostCommits: number }; conditions?: Array<{ type: string; status: string }> } }).status;
      return s?.lastStoreRepair && s.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && s;
    });
    expect(status.lastStoreRepair).toMatchObject({ action: 'repaired', salvagedCommits: 16, lostCommits: 0 });

    // And it goes on recording: alice's ConfigMap, under the rule's folder.
    await kubectl('alice', ['create', 'configmap', 'after', '-n', ns, '--from-literal=k=v']);
    const after = await eventually('alice\'s ConfigMap in the repaired repository', async () => (await log(remote, `live/${ns}/core/configmaps/after.yaml`))[0]);
    expect(after.author).toBe('alice');
    expect((await log(remote, 'cyc')).length).toBe(19); // the reconcile of `live` leaves the rest alone
  });
});
