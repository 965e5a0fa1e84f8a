import * as fs from 'node:fs';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toGitError } from '../../src/git/index.ts';
import { createBareRepo, startGitServer, type GitServer } from './git-server.ts';

const exec = promisify(execFile);
const USER = 'writer';
const PASSWORD = 'correct horse';

describe('git server (smart HTTP over git-http-backend)', () => {
  let tmp: string;
  let server: GitServer;
  let url: string;
  let cliUrl: string;
  const cli = async (args: string[], cwd?: string): Promise<string> =>
    (await exec('git', args, { cwd: cwd ?? tmp, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', HOME: tmp, GIT_CONFIG_NOSYSTEM: '1' } })).stdout;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'git-server-test-'));
    await createBareRepo(join(tmp, 'srv'), 'audit', { defaultBranch: 'main' });
    server = await startGitServer({ root: join(tmp, 'srv'), username: USER, password: PASSWORD, port: 0 });
    url = `${server.url}/audit.git`;
    cliUrl = url.replace('http://', `http://${USER}:${encodeURIComponent(PASSWORD)}@`);
    // Seed the empty repository with the git CLI (which also proves a CLI push over HTTP).
    const seed = join(tmp, 'seed');
    await cli(['init', '--quiet', '--initial-branch=main', seed]);
    await writeFile(join(seed, 'README.md'), 'audit\n');
    await cli(['add', 'README.md'], seed);
    await cli(['-c', 'user.name=seed', '-c', 'user.email=seed@example.com', 'commit', '--quiet', '-m', 'seed'], seed);
    await cli(['push', '--quiet', cliUrl, 'main:main'], seed);
  });
  afterAll(async () => {
    await server.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('answers 401 with a Basic challenge without credentials', async () => {
    const res = await fetch(`${url}/info/refs?service=git-upload-pack`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="kubescribe-git"');
  });

  it('lets isomorphic-git clone, commit and push, and the git CLI sees the commit', async () => {
    const dir = join(tmp, 'iso');
    const onAuth = () => ({ username: USER, password: PASSWORD });
    await git.clone({ fs, http, dir, url, onAuth, singleBranch: true, ref: 'main' });
    expect(await readFile(join(dir, 'README.md'), 'utf8')).toBe('audit\n');
    await writeFile(join(dir, 'hello.yaml'), 'kind: ConfigMap\n');
    await git.add({ fs, dir, filepath: 'hello.yaml' });
    await git.commit({ fs, dir, message: 'CREATE v1 configmaps default/hello', author: { name: 'alice', email: 'alice@example.com' } });
    const res = await git.push({ fs, http, dir, url, ref: 'main', remoteRef: 'main', onAuth });
    expect(res.ok).toBe(true);

    await cli(['clone', '--quiet', cliUrl, 'cli']);
    const log = await cli(['log', '--format=%s|%an|%ae'], join(tmp, 'cli'));
    expect(log.trim().split('\n')).toEqual(['CREATE v1 configmaps default/hello|alice|alice@example.com', 'seed|seed|seed@example.com']);
    expect(await readFile(join(tmp, 'cli', 'hello.yaml'), 'utf8')).toBe('kind: ConfigMap\n');
  });

  it('lets the git CLI push too, large bodies included (chunked)', async () => {
    const work = join(tmp, 'cli');
    await writeFile(join(work, 'big.txt'), Buffer.alloc(3 * 1024 * 1024, 'x').toString() + Math.random());
    await cli(['add', 'big.txt'], work);
    await cli(['-c', 'user.name=bob', '-c', 'user.email=bob@example.com', 'commit', '--quiet', '-m', 'big file'], work);
    await cli(['-c', 'http.postBuffer=65536', 'push', '--quiet', 'origin', 'HEAD:main'], work);
    const remote = (await cli(['ls-remote', cliUrl, 'refs/heads/main'])).split('\t')[0];
    expect(remote).toBe((await cli(['rev-parse', 'HEAD'], work)).trim());
  });

  it('refuses a wrong password with a readable error', async () => {
    const err = await git
      .clone({ fs, http, dir: join(tmp, 'denied'), url, onAuth: () => ({ username: USER, password: 'wrong' }) })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'HttpError', data: { statusCode: 401 } });
    const mapped = toGitError(err, url, 'fetch');
    expect(mapped.code).toBe('KUBESCRIBE_ERR_GIT_AUTH');
    expect(mapped.message).toContain(url);
    expect(mapped.message).toContain('401');
    expect(mapped.message).not.toContain('wrong');
    await expect(cli(['ls-remote', cliUrl.replace(encodeURIComponent(PASSWORD), 'wrong')])).rejects.toThrow(/Authentication failed/);
  });

  it('runs as a script: prints {"url"} as one JSON line, creates --repo, stops on SIGTERM', async () => {
    const root = join(tmp, 'script-root');
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./git-server.ts', import.meta.url)), '--root', root, '--user', 'u', '--password', 'p w', '--port', '0', '--repo', 'audit'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((ok, fail) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) ok(out.split('\n')[0]!);
      });
      child.on('exit', (code) => fail(new Error(`exited with ${code}`)));
    });
    const { url: base } = JSON.parse(line) as { url: string };
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const refs = await cli(['ls-remote', base.replace('http://', 'http://u:p%20w@') + '/audit.git']);
    expect(refs).toBe('');
    const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
