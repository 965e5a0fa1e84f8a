// `kubescribe blame` on the synthetic audit story, and the line-owner bookkeeping behind it.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carryOwners, splitLines } from './blame.ts';
import { buildAuditRepo, type AuditRepo } from './testing/audit-repo.ts';
import { START, kubescribe } from './testing/run-cli.ts';

let tmp: string;
let story: AuditRepo;
const blame = (...args: string[]) => kubescribe(['blame', ...args, '--repo', story.dir]);

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'kubescribe-blame-'));
  story = await buildAuditRepo(join(tmp, 'audit'), { start: START });
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('blame of Deployment shop/web', () => {
  it('gives each line of the current YAML the user and time of the change that last touched it', async () => {
    const { code, stdout, stderr } = await blame('deploy', 'shop/web');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(20);
    const sha = (s: keyof AuditRepo['commits']): string => story.commits[s].slice(0, 7);
    expect(lines[0]).toBe(`${sha('deployCreate')}  (alice       2025-01-10T12:00:00Z   1)  apiVersion: apps/v1`);
    expect(lines[8]).toBe(`${sha('deployScale')}  (bob         2025-01-10T13:00:00Z   9)    replicas: 3`);
    expect(lines[18]).toBe(`${sha('reconcile')}  (kubescribe  2025-01-10T14:00:00Z  19)          - image: nginx:1.27`);
    const owners = lines.map((l) => /\((\S+)/.exec(l)?.[1]);
    expect(owners.filter((o) => o === 'alice')).toHaveLength(18);
  });

  it('gives json for scripts', async () => {
    const { stdout } = await blame('deployment', 'web', '-n', 'shop', '-o', 'json');
    const out = JSON.parse(stdout) as { path: string; commit: string; lines: { line: number; text: string; user: string; commit: string; operation: string }[] };
    expect(out.path).toBe('shop/apps/deployments/web.yaml');
    expect(out.commit).toBe(story.commits.widgetCreate);
    expect(out.lines[8]).toEqual({ line: 9, text: '  replicas: 3', commit: story.commits.deployScale, time: '2025-01-10T13:00:00Z', user: 'bob', operation: 'UPDATE' });
    expect(out.lines[18]).toMatchObject({ user: 'kubescribe', operation: 'RECONCILE' });
  });

  it('works for a cluster-scoped object', async () => {
    const { code, stdout } = await blame('clusterrole', 'view');
    expect(code).toBe(0);
    expect(stdout.split('\n').filter((l) => l.includes('system:serviceaccount:ci:deployer'))).toHaveLength(12);
  });
});

describe('blame errors', () => {
  it('an object deleted at the tip says who deleted it', async () => {
    const { code, stderr } = await blame('cm', 'shop/settings');
    expect(code).toBe(1);
    expect(stderr).toContain(`configmaps shop/settings does not exist on branch main: deleted by carol at 2025-01-10T11:00:00Z (commit ${story.commits.cmDelete.slice(0, 7)})`);
    expect(stderr).toContain('hint: its past versions: kubescribe history configmaps shop/settings');
  });

  it('an object never recorded says which path was looked for', async () => {
    const { code, stderr } = await blame('secret', 'shop/web');
    expect(code).toBe(1);
    expect(stderr).toContain('(looked for shop/core/secrets/web.yaml)');
  });

  it('an unknown resource is a usage error', async () => {
    expect((await blame('widget', 'shop/gizmo')).code).toBe(2);
  });
});

describe('carryOwners', () => {
  it('keeps the owner of kept lines, gives added lines the new owner, drops removed lines', () => {
    const v1 = 'a\nb\nc\n';
    const v2 = 'a\nB\nc\nd\n';
    const v3 = 'a\nB\nd\n';
    let owners = carryOwners<string>([], '', v1, 'one');
    expect(owners).toEqual(['one', 'one', 'one']);
    owners = carryOwners(owners, v1, v2, 'two');
    expect(owners).toEqual(['one', 'two', 'one', 'two']);
    owners = carryOwners(owners, v2, v3, 'three');
    expect(owners).toEqual(['one', 'two', 'two']);
  });

  it('copes with a missing final newline', () => {
    expect(carryOwners(['x', 'x'], 'a\nb', 'a\nb\nc', 'y')).toEqual(['x', 'y', 'y']);
    expect(splitLines('a\nb')).toEqual(['a', 'b']);
    expect(splitLines('')).toEqual([]);
  });
});
