// The core pipeline on the real stack: a change made in the cluster becomes exactly one commit,
// authored by the user who made it, with the object as sanitized, ordered YAML. Assertions are on
// the Git repository that kubescribe pushes to.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileSanitizeOptions, sanitize, toYaml } from '../src/sanitize/index.ts';
import type { KubeObject } from '../src/kube-object.ts';
import { eventually, freshNamespace, git, kubectl, parallel, remoteFile, remoteLog, stackEnv, type User } from './support.ts';

const cmPath = (ns: string, name: string): string => `${ns}/core/configmaps/${name}.yaml`;

/** Waits until the branch has exactly `n` commits touching `path` (and then checks it stays so). */
async function commitsFor(path: string, n: number) {
  const log = await eventually(`${n} commits for ${path}`, async () => {
    const l = await remoteLog(path);
    return l.length >= n ? l : undefined;
  });
  expect(log.map((c) => c.subject)).toHaveLength(n);
  return log;
}

function expectedYaml(obj: KubeObject): string {
  const key = readFileSync(join(stackEnv().stackDir, 'kubescribe', 'secret-hash-key'), 'utf8').trim();
  return toYaml(sanitize(obj, compileSanitizeOptions({ secretKey: Buffer.from(key) })));
}

async function getJson(user: User, args: string[]): Promise<KubeObject> {
  return JSON.parse(await kubectl(user, ['get', ...args, '-o', 'json'])) as KubeObject;
}

describe('core pipeline', () => {
  let ns: string;
  beforeAll(async () => {
    ns = await freshNamespace('pipe');
  });

  it('records create, patch and delete by three users as three commits with their authors', async () => {
    await kubectl('alice', ['create', 'configmap', 'settings', '-n', ns, '--from-literal=color=blue']);
    await commitsFor(cmPath(ns, 'settings'), 1);
    await kubectl('bob', ['patch', 'configmap', 'settings', '-n', ns, '--type=merge', '-p', '{"data":{"color":"green","size":"L"}}']);
    const afterPatch = await commitsFor(cmPath(ns, 'settings'), 2);
    const live = await getJson('bob', ['configmap', 'settings', '-n', ns]);
    expect(await remoteFile(cmPath(ns, 'settings'))).toBe(expectedYaml(live));
    expect(afterPatch[1]!.subject).toBe(`UPDATE v1 configmaps ${ns}/settings`);
    await kubectl('carol', ['delete', 'configmap', 'settings', '-n', ns]);
    const log = await commitsFor(cmPath(ns, 'settings'), 3);
    expect(log.map((c) => c.author)).toEqual(['alice', 'bob', 'carol']);
    expect(log.map((c) => c.subject.split(' ')[0])).toEqual(['CREATE', 'UPDATE', 'DELETE']);
    expect(log[1]!.body).toMatch(/^Kubescribe-User: bob$/m);
    expect(log[1]!.body).toMatch(/^Kubescribe-Groups: .*devs/m);
    expect(log[1]!.body).toMatch(/^Kubescribe-Resource: v1\/configmaps$/m);
    expect(log[1]!.body).toMatch(/^Kubescribe-Object: .*\/settings$/m);
    expect(await remoteFile(cmPath(ns, 'settings'))).toBeUndefined();
    const committer = await git(join(stackEnv().git.root, 'audit.git'), ['log', '-1', '--format=%cn', log[2]!.sha]);
    expect(committer.trim()).toBe('kubescribe');
  });

  it('ignores a server-side dry run and does not let it steal the author of the real change', async () => {
    const manifest = (v: string): string => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dry', namespace: ns }, data: { v } });
    await kubectl('alice', ['apply', '-f', '-'], manifest('1'));
    await commitsFor(cmPath(ns, 'dry'), 1);
    await kubectl('bob', ['apply', '--dry-run=server', '-f', '-'], manifest('2'));
    await kubectl('alice', ['apply', '-f', '-'], manifest('2'));
    const log = await commitsFor(cmPath(ns, 'dry'), 2);
    expect(log.map((c) => c.author)).toEqual(['alice', 'alice']);
  });

  it('makes no commit for a status-only update', async () => {
    await kubectl('alice', ['create', 'deployment', 'web', '-n', ns, '--image=nginx:1.27']);
    const path = `${ns}/apps/deployments/web.yaml`;
    await commitsFor(path, 1);
    // Status is the controllers' job: the deployment controller writes it (edit users may not),
    // and so can admin; neither is a change of the object.
    await eventually('the deployment controller to write status', async () => ((await getJson('admin', ['deployment', 'web', '-n', ns])).status as { observedGeneration?: number } | undefined)?.observedGeneration === 1);
    await kubectl('admin', ['patch', 'deployment', 'web', '-n', ns, '--subresource=status', '--type=merge', '-p', '{"status":{"observedGeneration":7,"replicas":1}}']);
    await kubectl('carol', ['label', 'deployment', 'web', '-n', ns, 'tier=front']);
    const log = await commitsFor(path, 2);
    expect(log.map((c) => c.author)).toEqual(['alice', 'carol']);
    expect(await remoteFile(path)).not.toMatch(/observedGeneration|status:/);
  });

  it('credits each user when the same content comes back in turn', async () => {
    await kubectl('admin', ['create', 'configmap', 'turns', '-n', ns, '--from-literal=x=0']);
    await commitsFor(cmPath(ns, 'turns'), 1);
    let n = 1;
    for (const [user, x] of [['alice', '1'], ['bob', '2'], ['carol', '1']] as const) {
      await kubectl(user, ['patch', 'configmap', 'turns', '-n', ns, '--type=merge', '-p', JSON.stringify({ data: { x } })]);
      await commitsFor(cmPath(ns, 'turns'), ++n);
    }
    const log = await remoteLog(cmPath(ns, 'turns'));
    expect(log.map((c) => c.author)).toEqual(['admin', 'alice', 'bob', 'carol']);
  });

  it('attributes 90 concurrent changes by three users to the right user, once each', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `shared-${i}`);
    await kubectl('admin', ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: names.map((name) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { last: 'admin' } })) }));
    await eventually('30 creates recorded', async () => (await Promise.all(names.map((nm) => remoteLog(cmPath(ns, nm))))).every((l) => l.length === 1));
    const users: User[] = ['alice', 'bob', 'carol'];
    // Every user patches every object with a value naming the user, all at once.
    const tasks = users.flatMap((user) => names.map((name) => () => kubectl(user, ['patch', 'configmap', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ data: { last: user, [`by-${user}`]: 'yes' } })])));
    await parallel(8, tasks.sort(() => Math.random() - 0.5));
    const logs = await eventually('90 updates recorded', async () => {
      const all = await Promise.all(names.map((nm) => remoteLog(cmPath(ns, nm))));
      return all.every((l) => l.length === 4) ? all : undefined;
    }, 60_000).catch(async (err: Error) => {
      // What Git holds, so that a failure says whether changes were folded, doubled or late.
      const all = await Promise.all(names.map((nm) => remoteLog(cmPath(ns, nm))));
      throw new Error(`${err.message}; commits per object: ${all.map((l) => l.map((c) => `${c.subject.split(' ')[0]}:${c.author}`).join(' ')).filter((x) => x.split(' ').length !== 4).join(' | ')}`);
    });
    const repo = join(stackEnv().git.root, 'audit.git');
    for (const [i, log] of logs.entries()) {
      expect(log[0]!.author).toBe('admin');
      const updates = log.slice(1);
      expect(new Set(updates.map((c) => c.author))).toEqual(new Set(users));
      for (const c of updates) {
        // The content of the commit names the user who wrote it: the author must be that user.
        const content = await git(repo, ['show', `${c.sha}:${cmPath(ns, names[i]!)}`]);
        expect(content).toMatch(new RegExp(`^  last: ${c.author}$`, 'm'));
      }
    }
  });

  it('attributes kubectl scale, which goes through the scale subresource', async () => {
    await kubectl('alice', ['create', 'deployment', 'api', '-n', ns, '--image=nginx:1.27', '--replicas=1']);
    const path = `${ns}/apps/deployments/api.yaml`;
    await commitsFor(path, 1);
    await kubectl('bob', ['scale', 'deployment', 'api', '-n', ns, '--replicas=4']);
    await kubectl('carol', ['scale', 'deployment', 'api', '-n', ns, '--replicas=2']);
    const log = await commitsFor(path, 3);
    expect(log.map((c) => c.author)).toEqual(['alice', 'bob', 'carol']);
    expect(await remoteFile(path)).toMatch(/^ {2}replicas: 2$/m);
  });

  it('attributes generateName creates and server-side apply', async () => {
    const created = await kubectl('bob', ['create', '-o', 'jsonpath={.metadata.name}', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-', namespace: ns }, data: { a: '1' } }));
    expect(created).toMatch(/^gen-/);
    expect((await commitsFor(cmPath(ns, created), 1))[0]!.author).toBe('bob');
    const ssa = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa', namespace: ns }, data: { a: '1' } });
    await kubectl('carol', ['apply', '--server-side', '--field-manager=carol-tool', '-f', '-'], ssa);
    await commitsFor(cmPath(ns, 'ssa'), 1);
    await kubectl('alice', ['apply', '--server-side', '--force-conflicts', '--field-manager=alice-tool', '-f', '-'], ssa.replace('"a":"1"', '"a":"2"'));
    const log = await commitsFor(cmPath(ns, 'ssa'), 2);
    expect(log.map((c) => c.author)).toEqual(['carol', 'alice']);
  });

  it('never writes a Secret value in plaintext anywhere in the history', async () => {
    const value = `hunter2-${Date.now()}`;
    await kubectl('alice', ['create', 'secret', 'generic', 'db', '-n', ns, `--from-literal=password=${value}`]);
    await kubectl('bob', ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: ns }, stringData: { password: `${value}-2`, token: `${value}-tok` } }));
    const path = `${ns}/core/secrets/db.yaml`;
    const log = await commitsFor(path, 2);
    expect(log.map((c) => c.author)).toEqual(['alice', 'bob']);
    const history = await git(join(stackEnv().git.root, 'audit.git'), ['log', '-p', '--all', '--format=%H %an %B']);
    for (const secret of [value, `${value}-2`, `${value}-tok`]) {
      expect(history).not.toContain(secret);
      expect(history).not.toContain(Buffer.from(secret).toString('base64'));
    }
    // The value changed, and the redacted marker shows it.
    const first = await git(join(stackEnv().git.root, 'audit.git'), ['show', `${log[0]!.sha}:${path}`]);
    const second = await remoteFile(path);
    expect(first).toMatch(/password: .*redacted/);
    expect(second).not.toBe(first);
  });
});
