// "Who changed what" on the real stack (issue 9): after a story by alice, bob and carol, the
// `kubescribe` CLI (the package's bin, built) answers with history, blame and who from the audit
// repository over HTTP, and plain git (docs/browsing.md) gives the same answers.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './stack/stack.ts';
import { authedUrl, cloneAudit, eventually, freshNamespace, git, kubectl, remoteLog } from './support.ts';

const exec = promisify(execFile);

describe('kubescribe history, blame, who', () => {
  let ns: string;
  let cache: string;
  const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const r = await exec(process.execPath, [join(repoRoot, 'dist', 'cli', 'main.js'), ...args, '--repo', authedUrl(), '--color', 'never'], { env: { ...process.env, XDG_CACHE_HOME: cache } });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), 'ks-cli-cache-'));
    ns = await freshNamespace('story');
    await kubectl('alice', ['create', 'configmap', 'settings', '-n', ns, '--from-literal=color=blue']);
    await kubectl('alice', ['create', 'deployment', 'web', '-n', ns, '--image=nginx:1.27']);
    await kubectl('bob', ['patch', 'configmap', 'settings', '-n', ns, '--type=merge', '-p', '{"data":{"color":"green"}}']);
    await kubectl('bob', ['scale', 'deployment', 'web', '-n', ns, '--replicas=3']);
    await kubectl('carol', ['set', 'image', 'deployment/web', '-n', ns, 'nginx=nginx:1.28']);
    await kubectl('carol', ['delete', 'configmap', 'settings', '-n', ns]);
    await eventually('the story is in Git', async () => (await remoteLog(`${ns}/apps/deployments/web.yaml`)).length === 3 && (await remoteLog(`${ns}/core/configmaps/settings.yaml`)).length === 3);
  });
  afterAll(async () => { await rm(cache, { recursive: true, force: true }); });

  it('history: every change of the object, newest first, with user, operation and a YAML diff', async () => {
    const r = await cli('history', 'deploy', `${ns}/web`);
    expect(r.code, r.stderr).toBe(0);
    const heads = [...r.stdout.matchAll(/^\S+\s+(alice|bob|carol|unknown)\s+(CREATE|UPDATE|DELETE)\s+[0-9a-f]{7,}/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(heads).toEqual(['carol UPDATE', 'bob UPDATE', 'alice CREATE']);
    expect(r.stdout).toMatch(/^- {4}replicas: 1$|^-\s+replicas: 1$/m);
    expect(r.stdout).toMatch(/^\+\s+replicas: 3$/m);
    expect(r.stdout).toMatch(/^-\s+- image: nginx:1.27$|^-\s+image: nginx:1.27$/m);
    expect(r.stdout).toMatch(/^\+\s+(- )?image: nginx:1.28$/m);
    const json = JSON.parse((await cli('history', 'configmaps', 'settings', '-n', ns, '--user', 'bob', '--output', 'json')).stdout) as unknown;
    expect(JSON.stringify(json)).toContain('"bob"');
    expect(JSON.stringify(json)).not.toContain('"alice"');
  });

  it('blame: each line of the current YAML with who last touched it', async () => {
    const r = await cli('blame', 'deployment', `${ns}/web`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\(bob\s[^)]*\)\s+replicas: 3$/m);
    expect(r.stdout).toMatch(/\(carol\s[^)]*\)\s+(- )?image: nginx:1.28$/m);
    expect(r.stdout).toMatch(/\(alice\s[^)]*\)\s+kind: Deployment$/m);
  });

  it('who: everything a user changed', async () => {
    const r = await cli('who', '--user', 'carol', '--since', '1h');
    expect(r.code, r.stderr).toBe(0);
    const mine = r.stdout.split('\n').filter((l) => l.includes(ns));
    expect(mine.some((l) => /carol\s+UPDATE\s+.*deployments.*web/.test(l))).toBe(true);
    expect(mine.some((l) => /carol\s+DELETE\s+.*configmaps.*settings/.test(l))).toBe(true);
    expect(mine.every((l) => /\bcarol\b/.test(l))).toBe(true);
  });

  it('says clearly what is wrong: unknown resource, object never recorded, repo unreachable', async () => {
    const unknownResource = await cli('history', 'deploymnets', `${ns}/web`);
    expect(unknownResource.code).toBe(2);
    expect(unknownResource.stderr).toMatch(/unknown resource.*deploymnets/i);
    const never = await cli('history', 'deploy', `${ns}/nope`);
    expect(never.code).toBe(1);
    expect(never.stderr).toContain(`${ns}/apps/deployments/nope.yaml`);
    const r = await exec(process.execPath, [join(repoRoot, 'dist', 'cli', 'main.js'), 'history', 'deploy', `${ns}/web`, '--repo', 'http://127.0.0.1:9/audit.git'], { env: { ...process.env, XDG_CACHE_HOME: cache } }).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unreachable|could not reach|ECONNREFUSED|connect/i);
  });

  it('plain git (docs/browsing.md) gives the same answers', async () => {
    const clone = await cloneAudit();
    try {
      const authors = await git(clone.dir, ['log', '--format=%an %(trailers:key=Kubescribe-Operation,valueonly,separator=%x2C)', '--', `${ns}/apps/deployments/web.yaml`]);
      expect(authors.trim().split('\n')).toEqual(['carol UPDATE', 'bob UPDATE', 'alice CREATE']);
      const blame = await git(clone.dir, ['blame', '--line-porcelain', `${ns}/apps/deployments/web.yaml`]);
      const replicasLine = blame.split('\nauthor ').find((b) => /\t\s*replicas: 3\n/.test(b));
      expect(replicasLine?.startsWith('bob')).toBe(true);
      const bobs = await git(clone.dir, ['log', '--grep=^Kubescribe-User: bob$', '--format=%s', '--', `${ns}/`]);
      expect(bobs.trim().split('\n').sort()).toEqual([`UPDATE apps/v1 deployments ${ns}/web`, `UPDATE v1 configmaps ${ns}/settings`]);
    } finally {
      await clone.close();
    }
  });
});
