// The stack's Git server speaks smart HTTP with basic auth: isomorphic-git clones the audit repo,
// commits and pushes, and the git CLI sees the commit; a wrong password fails with a clear error.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { afterAll, describe, expect, it } from 'vitest';
import { git as gitCli, stackEnv } from './support.ts';

describe('Git server', () => {
  const dirs: string[] = [];
  afterAll(async () => { await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))); });

  it('lets isomorphic-git clone, commit and push over HTTP with basic auth; the git CLI sees it', async () => {
    const env = stackEnv();
    const dir = await mkdtemp(join(tmpdir(), 'iso-'));
    dirs.push(dir);
    const onAuth = () => ({ username: env.git.username, password: env.git.password });
    await git.clone({ fs, http, dir, url: env.git.url, onAuth });
    const branch = `e2e-probe-${process.pid}`;
    await git.branch({ fs, dir, ref: branch, checkout: true });
    await writeFile(join(dir, 'probe.txt'), 'hello from isomorphic-git\n');
    await git.add({ fs, dir, filepath: 'probe.txt' });
    const sha = await git.commit({ fs, dir, message: 'probe: isomorphic-git push', author: { name: 'probe', email: 'probe@example.com' } });
    const res = await git.push({ fs, http, dir, url: env.git.url, ref: branch, onAuth });
    expect(res.ok).toBe(true);
    const clone = await mkdtemp(join(tmpdir(), 'cli-'));
    dirs.push(clone);
    await gitCli(clone, ['clone', '-q', '--branch', branch, env.git.url.replace('http://', `http://${env.git.username}:${env.git.password}@`), '.']);
    expect((await gitCli(clone, ['log', '-1', '--format=%H %an %s'])).trim()).toBe(`${sha} probe probe: isomorphic-git push`);
    expect(await gitCli(clone, ['show', 'HEAD:probe.txt'])).toBe('hello from isomorphic-git\n');
  });

  it('refuses a wrong password with a clear 401', async () => {
    const env = stackEnv();
    const dir = await mkdtemp(join(tmpdir(), 'iso-'));
    dirs.push(dir);
    const err = await git.clone({ fs, http, dir, url: env.git.url, onAuth: () => ({ username: env.git.username, password: 'wrong' }), onAuthFailure: () => undefined }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/401|Unauthorized|authenticat/i);
    await expect(gitCli(dir, ['ls-remote', env.git.url.replace('http://', `http://${env.git.username}:wrong@`)])).rejects.toThrow(/Authentication failed|401/);
  });
});
