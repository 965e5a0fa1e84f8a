// `kubescribe who --cluster` on a repository that two clusters record into: each cluster's commits
// carry its Kubescribe-Cluster trailer and touch files under its top folder.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fs from 'node:fs';
import { add, commit, init } from 'isomorphic-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeMessage } from '../git/commit-message.ts';
import { kubescribe } from './testing/run-cli.ts';

let tmp: string;
let dir: string;
const who = (...args: string[]) => kubescribe(['who', ...args, '--repo', dir]);

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'kubescribe-who-cluster-'));
  dir = join(tmp, 'audit');
  await init({ fs, dir, defaultBranch: 'main' });
  let t = Date.parse('2025-01-10T09:00:00Z') / 1000;
  const record = async (cluster: string, user: string, name: string): Promise<void> => {
    const path = `${cluster}/shop/core/configmaps/${name}.yaml`;
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: shop\n`);
    await add({ fs, dir, filepath: path });
    const author = { name: user, email: `${user}@x`, timestamp: t, timezoneOffset: 0 };
    t += 3600;
    await commit({ fs, dir, author, committer: author, message: changeMessage({ operation: 'CREATE', group: '', version: 'v1', resource: 'configmaps', namespace: 'shop', name, user, groups: [], resourceVersion: '1', cluster }) });
  };
  await record('eu-1', 'alice', 'a');
  await record('us-2', 'alice', 'b');
  await record('us-2', 'bob', 'c');
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('who --cluster', () => {
  it('lists only the changes that cluster recorded, read under its folder', async () => {
    const { code, stdout } = await who('--cluster', 'us-2', '--output', 'json');
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as { cluster: string; changes: Array<{ user: string; name: string; cluster: string; path: string }> };
    expect(out.cluster).toBe('us-2');
    expect(out.changes.map((c) => [c.user, c.name, c.cluster, c.path])).toEqual([
      ['bob', 'c', 'us-2', 'us-2/shop/core/configmaps/c.yaml'],
      ['alice', 'b', 'us-2', 'us-2/shop/core/configmaps/b.yaml'],
    ]);
    const eu = JSON.parse((await who('alice', '--cluster', 'eu-1', '--output', 'json')).stdout) as { changes: Array<{ name: string }> };
    expect(eu.changes.map((c) => c.name)).toEqual(['a']);
  });

  it('rejects a name that cannot be a cluster name', async () => {
    const { code, stderr } = await who('--cluster', '../x');
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/--cluster must be a cluster name/);
  });
});
