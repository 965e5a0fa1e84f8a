// `who` and `history` on deletions made by controllers on someone's behalf (Kubescribe-Cause):
// listed for the user who caused them, shown with the controller that made them.

import fs from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { add, commit, init, remove } from 'isomorphic-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeMessage, type ChangeMessage } from '../git/commit-message.ts';
import { START, kubescribe } from './testing/run-cli.ts';

const NS_CONTROLLER = 'system:serviceaccount:kube-system:namespace-controller';
const PATH = 'shop/core/configmaps/settings.yaml';
let tmp: string;
let dir: string;
const shas: string[] = [];

async function step(content: string | null, m: Omit<ChangeMessage, 'group' | 'version' | 'resource' | 'namespace' | 'name' | 'groups'>): Promise<void> {
  if (content === null) {
    await rm(join(dir, PATH));
    await remove({ fs, dir, filepath: PATH });
  } else {
    await mkdir(dirname(join(dir, PATH)), { recursive: true });
    await writeFile(join(dir, PATH), content);
    await add({ fs, dir, filepath: PATH });
  }
  const timestamp = Math.floor(START.getTime() / 1000) + shas.length * 3600;
  const message = changeMessage({ group: '', version: 'v1', resource: 'configmaps', namespace: 'shop', name: 'settings', groups: [], ...m });
  shas.push(await commit({ fs, dir, message, author: { name: m.user, email: 'x@users.kubescribe.local', timestamp, timezoneOffset: 0 } }));
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'kubescribe-cause-'));
  dir = join(tmp, 'audit');
  await init({ fs, dir, defaultBranch: 'main' });
  await step('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\n', { operation: 'CREATE', user: 'alice', resourceVersion: '1' });
  await step(null, { operation: 'DELETE', user: NS_CONTROLLER, resourceVersion: '2', cause: { users: ['bob'], deleted: 'namespace shop', controller: 'namespace controller' } });
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('a controller\'s deletion caused by a user', () => {
  it('who <user> lists it, shown with the controller that made it', async () => {
    const { stdout } = await kubescribe(['who', 'bob', '--repo', dir]);
    const rows = stdout.split('\n').filter((l) => l !== '').map((l) => l.split(/\s{2,}/));
    expect(rows).toEqual([['2025-01-10T10:00:00Z', `${NS_CONTROLLER} (caused by bob)`, 'DELETE', 'configmaps', 'shop/settings', shas[1]!.slice(0, 7)]]);
    // The controller's own list has it too; alice's does not.
    expect((await kubescribe(['who', NS_CONTROLLER, '--repo', dir])).stdout).toContain('shop/settings');
    expect((await kubescribe(['who', 'alice', '--repo', dir])).stdout).not.toContain('DELETE');
  });

  it('who -o json gives the cause beside the user', async () => {
    const out = JSON.parse((await kubescribe(['who', 'bob', '--repo', dir, '-o', 'json'])).stdout) as { changes: Array<{ user: string; cause: string[] }> };
    expect(out.changes.map((c) => [c.user, c.cause])).toEqual([[NS_CONTROLLER, ['bob']]]);
  });

  it('history --user <user> finds it, and shows the cause in text and json', async () => {
    const text = (await kubescribe(['history', 'cm', 'shop/settings', '--user', 'bob', '--repo', dir])).stdout;
    expect(text.split('\n')[0]).toContain(`${NS_CONTROLLER} (caused by bob)  DELETE`);
    const out = JSON.parse((await kubescribe(['history', 'cm', 'shop/settings', '--repo', dir, '-o', 'json'])).stdout) as { changes: Array<{ user: string; cause: string[] }> };
    expect(out.changes.map((c) => [c.user, c.cause])).toEqual([[NS_CONTROLLER, ['bob']], ['alice', []]]);
  });

  it('blame of the deleted object names the controller and the cause', async () => {
    const { code, stderr } = await kubescribe(['blame', 'cm', 'shop/settings', '--repo', dir]);
    expect(code).toBe(1);
    expect(stderr).toContain(`deleted by ${NS_CONTROLLER} (caused by bob) at 2025-01-10T10:00:00Z`);
  });
});
