// Where history is read from: local clones (bare or not, by path, file:// URL or environment)
// and http(s) remotes cloned into the cache, with credentials kept out of disk and messages.

import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactUrl } from '../git/git-error.ts';
import { cacheDirFor, remoteLocation } from './repo-source.ts';
import { buildAuditRepo, type AuditRepo } from './testing/audit-repo.ts';
import { startGitHttpServer, type GitHttpServer } from './testing/git-http-server.ts';
import { START, kubescribe } from './testing/run-cli.ts';

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 'dave', GIT_AUTHOR_EMAIL: 'dave@example.com', GIT_COMMITTER_NAME: 'kubescribe', GIT_COMMITTER_EMAIL: 'k@example.com', GIT_AUTHOR_DATE: '2025-01-10T17:30:00Z', GIT_COMMITTER_DATE: '2025-01-10T17:30:00Z' },
  });

let tmp: string;
let story: AuditRepo;
let bare: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'kubescribe-repo-'));
  story = await buildAuditRepo(join(tmp, 'audit'), { start: START });
  git(story.dir, 'branch', 'before-deploy', story.commits.cmDelete);
  bare = join(tmp, 'served', 'audit.git');
  git(tmp, 'clone', '--quiet', '--bare', story.dir, bare);
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

const headers = (stdout: string): string[] => stdout.split('\n').filter((l) => /^\d{4}-/.test(l));

describe('local repositories', () => {
  it('reads a local bare clone', async () => {
    const { code, stdout } = await kubescribe(['history', 'deploy', 'shop/web', '--repo', bare]);
    expect(code).toBe(0);
    expect(headers(stdout)).toHaveLength(3);
  });

  it('reads a file:// URL', async () => {
    const { code } = await kubescribe(['history', 'deploy', 'shop/web', '--repo', pathToFileURL(bare).href]);
    expect(code).toBe(0);
  });

  it('reads the clone that holds the working directory when --repo is not given', async () => {
    const { code, stdout } = await kubescribe(['history', 'deploy', 'shop/web'], { cwd: join(story.dir, 'shop', 'apps') });
    expect(code).toBe(0);
    expect(headers(stdout)).toHaveLength(3);
  });

  it('reads KUBESCRIBE_REPO, relative to the working directory', async () => {
    const { code } = await kubescribe(['history', 'deploy', 'shop/web'], { cwd: tmp, env: { KUBESCRIBE_REPO: 'served/audit.git' } });
    expect(code).toBe(0);
  });

  it('reads another branch with --branch, or KUBESCRIBE_BRANCH', async () => {
    const cm = await kubescribe(['history', 'cm', 'shop/settings', '--repo', bare, '--branch', 'before-deploy']);
    expect(headers(cm.stdout)).toHaveLength(3);
    const deploy = await kubescribe(['history', 'deploy', 'shop/web', '--repo', bare], { env: { KUBESCRIBE_BRANCH: 'before-deploy' } });
    expect(deploy.code).toBe(1);
    expect(deploy.stderr).toContain('was never recorded on branch before-deploy');
  });

  it('an unknown branch lists the known ones', async () => {
    const { code, stderr } = await kubescribe(['who', '--repo', bare, '--branch', 'nope']);
    expect(code).toBe(1);
    expect(stderr).toBe(`error: branch "nope" not found in ${bare}\nhint: branches: before-deploy, main\n`);
  });

  it('a missing path is a runtime error', async () => {
    const { code, stderr } = await kubescribe(['who', '--repo', join(tmp, 'nowhere')]);
    expect(code).toBe(1);
    expect(stderr).toContain('repository path not found');
  });

  it.each([['git@github.com:org/audit.git'], ['ssh://git@github.com/org/audit.git']])('%s is refused as unsupported (usage)', async (url) => {
    const { code, stderr } = await kubescribe(['who', '--repo', url]);
    expect(code).toBe(2);
    expect(stderr).toContain('use an http(s) URL, or clone the repository yourself');
  });
});

describe('remote repositories over smart HTTP', () => {
  const USER = 'auditor';
  const PASSWORD = 's3cret-pa55';
  let server: GitHttpServer;
  let cache: string;
  const env = (): Record<string, string> => ({ XDG_CACHE_HOME: cache });

  beforeAll(async () => {
    server = await startGitHttpServer({ root: join(tmp, 'served'), username: USER, password: PASSWORD });
    cache = join(tmp, 'cache');
  });
  afterAll(() => server.close());

  const withCredentials = (): string => server.url('audit.git').replace('http://', `http://${USER}:${PASSWORD}@`);

  it('clones into the cache on first use, without storing the credentials', async () => {
    const { code, stdout, stderr } = await kubescribe(['history', 'deploy', 'shop/web', '--repo', withCredentials()], { env: env() });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(headers(stdout)).toHaveLength(3);
    const dir = cacheDirFor(server.url('audit.git'), env(), '/nonexistent');
    expect(dir.startsWith(join(cache, 'kubescribe', 'repos'))).toBe(true);
    const config = await readFile(join(dir, 'config'), 'utf8');
    expect(config).toContain(`url = ${server.url('audit.git')}`);
    expect(config).not.toContain(PASSWORD);
    expect((await readdir(join(cache, 'kubescribe', 'repos'))).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('takes credentials from KUBESCRIBE_GIT_USERNAME / KUBESCRIBE_GIT_PASSWORD', async () => {
    const { code, stdout } = await kubescribe(['who', 'bob', '--repo', server.url('audit.git')], {
      env: { ...env(), KUBESCRIBE_GIT_USERNAME: USER, KUBESCRIBE_GIT_PASSWORD: PASSWORD },
    });
    expect(code).toBe(0);
    expect(stdout.split('\n').filter((l) => l !== '')).toHaveLength(2);
  });

  it('fetches on later runs, so new commits show up', async () => {
    const work = join(tmp, 'work');
    git(tmp, 'clone', '--quiet', bare, work);
    const file = join(work, 'shop/apps/deployments/web.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('replicas: 3', 'replicas: 5'));
    git(work, 'commit', '--quiet', '-am', 'UPDATE apps/v1 deployments shop/web\n\nKubescribe-Operation: UPDATE\nKubescribe-User: dave\n');
    git(work, 'push', '--quiet', 'origin', 'main');

    const { stdout } = await kubescribe(['history', 'deploy', 'shop/web', '--repo', withCredentials(), '--limit', '1'], { env: env() });
    expect(headers(stdout)[0]).toMatch(/^2025-01-10T17:30:00Z {2}dave {2}UPDATE/);
    expect(stdout).toContain('-  replicas: 3\n+  replicas: 5');
  });

  it('reads another branch of the remote, and lists the remote branches for an unknown one', async () => {
    const other = await kubescribe(['history', 'cm', 'shop/settings', '--repo', withCredentials(), '--branch', 'before-deploy'], { env: env() });
    expect(other.code).toBe(0);
    const { code, stderr } = await kubescribe(['who', '--repo', withCredentials(), '--branch', 'nope'], { env: env() });
    expect(code).toBe(1);
    expect(stderr).toContain(`branch "nope" not found in ${server.url('audit.git')}`);
    expect(stderr).toContain('hint: branches: before-deploy, main');
  });

  it('a wrong password fails with exit 1 and no credentials in the message', async () => {
    const url = server.url('audit.git').replace('http://', `http://${USER}:wrong-${PASSWORD}@`);
    const { code, stdout, stderr } = await kubescribe(['who', '--repo', url], { env: { XDG_CACHE_HOME: join(tmp, 'cache-2') } });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(`error: authentication failed for ${server.url('audit.git')} (HTTP 401)`);
    expect(stderr).toContain('KUBESCRIBE_GIT_USERNAME');
    expect(stderr).not.toContain(PASSWORD);
    expect(stderr).not.toContain(USER);
    // A failed first clone leaves no cache behind.
    expect(await readdir(join(tmp, 'cache-2', 'kubescribe', 'repos')).catch(() => [])).toEqual([]);
  });

  it('no credentials at all is an authentication failure too', async () => {
    const { code, stderr } = await kubescribe(['who', '--repo', server.url('audit.git')], { env: { XDG_CACHE_HOME: join(tmp, 'cache-3') } });
    expect(code).toBe(1);
    expect(stderr).toContain('authentication failed');
  });

  it('an unreachable remote fails with exit 1 and no credentials in the message', async () => {
    const closed = await startGitHttpServer({ root: tmp });
    const url = closed.url('audit.git');
    await closed.close();
    const { code, stderr } = await kubescribe(['who', '--repo', url.replace('http://', `http://${USER}:${PASSWORD}@`)], { env: { XDG_CACHE_HOME: join(tmp, 'cache-4') } });
    expect(code).toBe(1);
    expect(stderr).toContain(`error: cannot reach ${url} (ECONNREFUSED)`);
    expect(stderr).not.toContain(PASSWORD);
  });

  it('a URL that holds no repository says so', async () => {
    const { code, stderr } = await kubescribe(['who', '--repo', withCredentials().replace('audit.git', 'missing.git')], { env: env() });
    expect(code).toBe(1);
    expect(stderr).toContain(`error: no Git repository at ${server.url('missing.git')} (HTTP 404)`);
    expect(stderr).not.toContain(PASSWORD);
  });
});

describe('credential handling', () => {
  it('moves URL credentials into a header and out of the URL', () => {
    const loc = remoteLocation('https://bob:p%40ss@git.example.com/audit.git', {});
    expect(loc.url).toBe('https://git.example.com/audit.git');
    expect(loc.headers.Authorization).toBe(`Basic ${Buffer.from('bob:p@ss').toString('base64')}`);
  });
  it('prefers URL credentials over the environment', () => {
    const loc = remoteLocation('https://bob:pw@git.example.com/a.git', { KUBESCRIBE_GIT_USERNAME: 'env', KUBESCRIBE_GIT_PASSWORD: 'envpw' });
    expect(loc.headers.Authorization).toBe(`Basic ${Buffer.from('bob:pw').toString('base64')}`);
  });
  it('sends no header without credentials', () => {
    expect(remoteLocation('https://git.example.com/a.git', {}).headers).toEqual({});
  });
  it('redacts user info from URLs', () => {
    expect(redactUrl('https://u:p@h/x.git')).toBe('https://h/x.git');
    expect(redactUrl('fetch of https://u:secret@h/x.git failed: 401')).toBe('fetch of https://h/x.git failed: 401');
  });
  it('keys the cache by the URL without credentials, under ~/.cache by default', () => {
    const a = cacheDirFor('https://h/x.git', {}, '/home/me');
    expect(a).toMatch(/^\/home\/me\/\.cache\/kubescribe\/repos\/[0-9a-f]{24}$/);
    expect(cacheDirFor('https://h/y.git', {}, '/home/me')).not.toBe(a);
  });
});
