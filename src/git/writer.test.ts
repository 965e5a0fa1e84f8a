import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blobOid, GitWriter, type GitWriterOptions, type PushResult } from './index.ts';
import { PASSWORD, silentLogger, startGitRemote, USER, type GitRemote } from './testing/git-remote.ts';

const exec = promisify(execFile);

const alice = { name: 'alice', email: 'alice@example.com' };
const bob = { name: 'bob', email: 'bob@example.com' };
const cm = (name: string): string => `shop/core/configmaps/${name}.yaml`;
const yaml = (name: string, v: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  v: "${v}"\n`;

describe('GitWriter against a real git server', () => {
  let remote: GitRemote;
  let password: string;
  const writers: GitWriter[] = [];

  beforeEach(async () => {
    remote = await startGitRemote();
    password = PASSWORD;
  });
  afterEach(async () => {
    for (const w of writers.splice(0)) await w.close().catch(() => undefined);
    await remote.stop();
  });

  async function open(extra: Partial<GitWriterOptions> = {}, dir = 'clone'): Promise<GitWriter> {
    const w = await GitWriter.open({
      dir: join(remote.tmp, dir),
      url: remote.url,
      branch: 'main',
      credentials: () => ({ username: USER, password }),
      committer: { name: 'kubescribe', email: 'kubescribe@example.com' },
      pushIntervalMs: 3_600_000,
      logger: silentLogger,
      ...extra,
    });
    writers.push(w);
    return w;
  }

  /** Fresh CLI clone of the remote branch: returns its folder. */
  async function cliClone(name = `check-${Math.random().toString(36).slice(2)}`): Promise<string> {
    await remote.git(['clone', '--quiet', '--branch', 'main', remote.cliUrl, name]);
    return join(remote.tmp, name);
  }
  const log = async (dir: string, format: string): Promise<string[]> => (await remote.git(['log', `--format=${format}`], dir)).trim().split('\n').filter(Boolean);

  it('starts the branch on an empty remote, commits and pushes with author, committer and message', async () => {
    const w = await open();
    expect(w.tip()).toBeUndefined();
    const message = 'CREATE v1 configmaps shop/web\n\nKubescribe-Operation: CREATE\nKubescribe-User: alice\n';
    const sha = await w.commit({ changes: [{ path: cm('web'), content: yaml('web', '1') }], author: { ...alice, timestamp: 1_700_000_000 }, message });
    expect(w.tip()).toBe(sha);
    expect(w.pending()).toBe(1);
    const r = await w.flush();
    expect(r).toMatchObject({ ok: true, sha, pushedCommits: 1 });
    expect(w.pending()).toBe(0);

    const dir = await cliClone();
    expect(await log(dir, '%H|%an|%ae|%at|%cn|%ce')).toEqual([`${sha}|alice|alice@example.com|1700000000|kubescribe|kubescribe@example.com`]);
    expect(await remote.git(['log', '-1', '--format=%B'], dir)).toBe(`${message}\n`);
    expect(await readFile(join(dir, cm('web')), 'utf8')).toBe(yaml('web', '1'));
    expect(w.files().get(cm('web'))).toBe(blobOid(yaml('web', '1')));
    expect(await w.readFile(cm('web'))).toBe(yaml('web', '1'));
    await remote.git(['fsck', '--strict'], dir);
  });

  it('deletes files, skips unchanged content, and keeps the tree git-valid', async () => {
    const w = await open();
    const first = await w.commit({ changes: [{ path: cm('a'), content: yaml('a', '1') }, { path: cm('b'), content: yaml('b', '1') }, { path: '_cluster/core/namespaces/shop.yaml', content: 'kind: Namespace\n' }], author: alice, message: 'add' });
    expect(await w.commit({ changes: [{ path: cm('a'), content: yaml('a', '1') }], author: bob, message: 'same' })).toBe(first);
    expect(await w.commit({ changes: [{ path: cm('missing'), content: null }], author: bob, message: 'delete nothing' })).toBe(first);
    expect(w.pending()).toBe(1);
    const del = await w.commit({ changes: [{ path: cm('a'), content: null }], author: bob, message: 'DELETE a' });
    expect(del).not.toBe(first);
    const rmAll = await w.commit({ changes: [{ path: cm('b'), content: null }], author: bob, message: 'DELETE b' });
    expect([...w.files().keys()]).toEqual(['_cluster/core/namespaces/shop.yaml']);
    expect((await w.flush()).pushedCommits).toBe(3);

    const dir = await cliClone();
    expect(await log(dir, '%H %s')).toEqual([`${rmAll} DELETE b`, `${del} DELETE a`, `${first} add`]);
    expect((await remote.git(['ls-tree', '-r', '-t', '--name-only', 'HEAD'], dir)).trim().split('\n')).toEqual(['_cluster', '_cluster/core', '_cluster/core/namespaces', '_cluster/core/namespaces/shop.yaml']);
    expect((await remote.git(['show', '--name-status', '--format=', del], dir)).trim()).toBe(`D\t${cm('a')}`);
    await remote.git(['fsck', '--strict'], dir);
  });

  it('rejects unsafe paths in commit() without touching the branch', async () => {
    const w = await open();
    const sha = await w.commit({ changes: [{ path: cm('a'), content: 'x' }], author: alice, message: 'a' });
    for (const path of ['../evil', '/abs', 'a//b', 'a/./b', 'a/../b', '.git/config', 'a\\b', 'a\0b', '', cm('a') + '/under-a-file', 'shop']) {
      await expect(w.commit({ changes: [{ path, content: 'x' }], author: alice, message: 'bad' })).rejects.toMatchObject({ code: 'KUBESCRIBE_ERR_GIT_PATH_UNSAFE' });
    }
    expect(w.tip()).toBe(sha);
    expect([...w.files().keys()]).toEqual([cm('a')]);
  });

  it('batches pushes: by count at once, by interval otherwise, all commits in order', async () => {
    const w = await open({ pushMaxCommits: 5, pushIntervalMs: 200 });
    const results: PushResult[] = [];
    w.onPush((r) => results.push(r));
    const shas: string[] = [];
    for (let i = 0; i < 5; i++) shas.push(await w.commit({ changes: [{ path: cm(`c${i}`), content: yaml(`c${i}`, String(i)) }], author: i % 2 ? bob : alice, message: `change ${i}` }));
    await expect.poll(() => results.length, { timeout: 10_000 }).toBe(1);
    expect(results[0]).toMatchObject({ ok: true, pushedCommits: 5, sha: shas[4] });
    for (let i = 5; i < 8; i++) shas.push(await w.commit({ changes: [{ path: cm(`c${i}`), content: yaml(`c${i}`, String(i)) }], author: alice, message: `change ${i}` }));
    await expect.poll(() => results.length, { timeout: 10_000 }).toBe(2);
    expect(results[1]).toMatchObject({ ok: true, pushedCommits: 3, sha: shas[7] });
    const dir = await cliClone();
    expect(await log(dir, '%H')).toEqual([...shas].reverse());
    expect(await log(dir, '%s')).toEqual(shas.map((_, i) => `change ${i}`).reverse());
  });

  it('keeps commits on a wrong password (KUBESCRIBE_ERR_GIT_AUTH) and pushes them all once it is fixed', async () => {
    const w = await open();
    await w.commit({ changes: [{ path: cm('a'), content: 'a' }], author: alice, message: 'one' });
    expect((await w.flush()).ok).toBe(true);
    password = 'rotated-wrong';
    await w.commit({ changes: [{ path: cm('b'), content: 'b' }], author: alice, message: 'two' });
    await w.commit({ changes: [{ path: cm('c'), content: 'c' }], author: bob, message: 'three' });
    const failed = await w.flush();
    expect(failed.ok).toBe(false);
    expect(failed.error?.code).toBe('KUBESCRIBE_ERR_GIT_AUTH');
    expect(failed.error?.message).toContain(remote.url);
    expect(failed.error?.message).not.toContain('rotated-wrong');
    expect(w.pending()).toBe(2);
    password = PASSWORD;
    expect(await w.flush()).toMatchObject({ ok: true, pushedCommits: 2 });
    expect(await log(await cliClone(), '%s')).toEqual(['three', 'two', 'one']);
  });

  it('reports KUBESCRIBE_ERR_GIT_UNREACHABLE while the server is down and pushes after it is back', async () => {
    const w = await open();
    await w.commit({ changes: [{ path: cm('a'), content: 'a' }], author: alice, message: 'one' });
    await remote.server.stop();
    await w.commit({ changes: [{ path: cm('b'), content: 'b' }], author: alice, message: 'two' });
    const failed = await w.flush();
    expect(failed).toMatchObject({ ok: false, pushedCommits: 0 });
    expect(failed.error?.code).toBe('KUBESCRIBE_ERR_GIT_UNREACHABLE');
    expect(w.pending()).toBe(2);
    await remote.restart();
    expect(await w.flush()).toMatchObject({ ok: true, pushedCommits: 2 });
    expect(await log(await cliClone(), '%s')).toEqual(['two', 'one']);
  });

  it('replays its commits on top of a foreign commit pushed in between, keeping both histories', async () => {
    const w = await open();
    await w.commit({ changes: [{ path: cm('a'), content: yaml('a', '1') }, { path: cm('shared'), content: 'ours-1' }], author: alice, message: 'ours one' });
    await w.flush();

    const dir = await cliClone('foreign');
    await writeFile(join(dir, 'README.md'), 'written by a human\n');
    await writeFile(join(dir, cm('shared')), 'theirs');
    await remote.git(['add', '-A'], dir);
    await remote.git(['-c', 'user.name=carol', '-c', 'user.email=carol@example.com', 'commit', '--quiet', '-m', 'foreign commit'], dir);
    await remote.git(['push', '--quiet', 'origin', 'main'], dir);

    await w.commit({ changes: [{ path: cm('b'), content: yaml('b', '1') }], author: bob, message: 'ours two' });
    await w.commit({ changes: [{ path: cm('shared'), content: 'ours-2' }, { path: cm('a'), content: null }], author: alice, message: 'ours three' });
    const r = await w.flush();
    expect(r).toMatchObject({ ok: true, pushedCommits: 2 });

    const check = await cliClone();
    expect(await log(check, '%s|%an')).toEqual(['ours three|alice', 'ours two|bob', 'foreign commit|carol', 'ours one|alice']);
    expect(await readFile(join(check, 'README.md'), 'utf8')).toBe('written by a human\n');
    expect(await readFile(join(check, cm('b')), 'utf8')).toBe(yaml('b', '1'));
    expect(await readFile(join(check, cm('shared')), 'utf8')).toBe('ours-2');
    expect((await remote.git(['ls-tree', '-r', '--name-only', 'HEAD'], check)).trim().split('\n').sort()).toEqual(['README.md', cm('b'), cm('shared')]);
    expect(w.tip()).toBe((await remote.git(['rev-parse', 'HEAD'], check)).trim());
    expect(w.files().get('README.md')).toBe(blobOid('written by a human\n'));
    await remote.git(['fsck', '--strict'], check);
  });

  it('reopens its folder after close without committing twice and picks up foreign changes', async () => {
    const w = await open();
    const sha = await w.commit({ changes: [{ path: cm('a'), content: 'a' }], author: alice, message: 'one' });
    await w.close();
    writers.length = 0;

    const again = await open();
    expect(again.tip()).toBe(sha);
    expect(again.pending()).toBe(0);
    expect(await again.commit({ changes: [{ path: cm('a'), content: 'a' }], author: alice, message: 'one again' })).toBe(sha);
    await again.close();
    writers.length = 0;

    const dir = await cliClone('foreign');
    await writeFile(join(dir, 'NOTES'), 'x');
    await remote.git(['add', 'NOTES'], dir);
    await remote.git(['-c', 'user.name=carol', '-c', 'user.email=c@example.com', 'commit', '--quiet', '-m', 'notes'], dir);
    await remote.git(['push', '--quiet', 'origin', 'main'], dir);
    const third = await open();
    expect(third.files().has('NOTES')).toBe(true);
    expect(third.pending()).toBe(0);
    expect(await log(await cliClone(), '%s')).toEqual(['notes', 'one']);
  });

  it('after a crash (SIGKILL) with unpushed commits, pushes them once on reopen, replayed if the remote moved', async () => {
    const base = await open();
    await base.commit({ changes: [{ path: cm('base'), content: 'base' }], author: alice, message: 'base' });
    await base.close();
    writers.length = 0;

    const args = {
      dir: join(remote.tmp, 'clone'), url: remote.url, username: USER, password: PASSWORD,
      commits: [
        { path: cm('x'), content: 'x1', author: 'alice' },
        { path: cm('y'), content: 'y1', author: 'bob' },
        { path: cm('base'), content: null, author: 'alice' },
      ],
    };
    const child = await exec(process.execPath, ['--import', 'tsx', resolve('src/git/testing/crash-writer.ts'), JSON.stringify(args)]).then(
      () => { throw new Error('the crash writer should have been killed'); },
      (err: { signal?: string; stdout?: string }) => err,
    );
    expect(child.signal).toBe('SIGKILL');
    const { shas } = JSON.parse(child.stdout ?? '') as { shas: string[] };
    expect(shas).toHaveLength(3);

    // Meanwhile someone else pushed.
    const dir = await cliClone('foreign');
    await writeFile(join(dir, 'README.md'), 'hi');
    await remote.git(['add', 'README.md'], dir);
    await remote.git(['-c', 'user.name=carol', '-c', 'user.email=c@example.com', 'commit', '--quiet', '-m', 'foreign'], dir);
    await remote.git(['push', '--quiet', 'origin', 'main'], dir);

    const w = await open();
    expect(w.pending()).toBe(3);
    expect((await w.flush()).pushedCommits).toBe(3);
    const check = await cliClone();
    expect(await log(check, '%s|%an')).toEqual(['change by alice|alice', 'change by bob|bob', 'change by alice|alice', 'foreign|carol', 'base|alice']);
    expect((await remote.git(['ls-tree', '-r', '--name-only', 'HEAD'], check)).trim().split('\n').sort()).toEqual(['README.md', cm('x'), cm('y')]);
    await w.close();
    writers.length = 0;

    const reopened = await open();
    expect(reopened.pending()).toBe(0);
    expect(await log(await cliClone(), '%s')).toHaveLength(5);
  });

  it('does not push twice what landed before a crash lost the bookkeeping', async () => {
    const w = await open();
    const old = await w.commit({ changes: [{ path: cm('a'), content: 'a' }], author: alice, message: 'one' });
    await w.flush();
    const two = await w.commit({ changes: [{ path: cm('b'), content: 'b' }], author: alice, message: 'two' });
    await w.flush();
    await w.close();
    writers.length = 0;
    // As if the process died between the push and the update of the remote-tracking ref.
    await writeFile(join(remote.tmp, 'clone', 'refs', 'remotes', 'origin', 'main'), `${old}\n`);
    const again = await open();
    expect(again.pending()).toBe(0);
    expect(again.tip()).toBe(two);
    expect(await log(await cliClone(), '%s')).toEqual(['two', 'one']);
  });

  it('compacts a big folder from the bytes its tree index keeps: git reads the compacted tip', async () => {
    const w = await open({ compactAfterBytes: 1 });
    await w.commit({ changes: Array.from({ length: 300 }, (_, i) => ({ path: cm(`big-${i}`), content: yaml(`big-${i}`, '0') })), author: alice, message: 'many' });
    for (let i = 0; i < 60; i++) await w.commit({ changes: [{ path: cm(`big-${i}`), content: yaml(`big-${i}`, '1') }], author: bob, message: `u${i}` }); // past one delta chain's depth
    expect(await w.flush()).toMatchObject({ ok: true, pushedCommits: 61 });
    const local = join(remote.tmp, 'clone');
    const packs = (await readdir(join(local, 'objects', 'pack'))).filter((f) => f.endsWith('.pack'));
    expect(packs).toHaveLength(1);
    await remote.git(['--git-dir', local, 'fsck', '--strict']);
    const files = (await remote.git(['--git-dir', local, 'ls-tree', '-r', '--name-only', w.tip()!])).trim().split('\n');
    expect(files).toHaveLength(300);
    expect(await w.readFile(cm('big-59'))).toBe(yaml('big-59', '1'));
    expect(await w.readFile(cm('big-60'))).toBe(yaml('big-60', '0'));
  });

  it('compacts its local store once pushed, and keeps working on it (replay, reopen)', async () => {
    const w = await open({ compactAfterBytes: 1 });
    for (let i = 0; i < 5; i++) await w.commit({ changes: [{ path: cm(`c${i}`), content: yaml(`c${i}`, String(i)) }], author: alice, message: `c${i}` });
    await w.flush();
    const local = join(remote.tmp, 'clone');
    const packs = (await readdir(join(local, 'objects', 'pack'))).filter((f) => f.endsWith('.pack'));
    expect(packs).toHaveLength(1);
    await remote.git(['verify-pack', join(local, 'objects', 'pack', packs[0]!)]);
    expect((await readFile(join(local, 'shallow'), 'utf8')).trim()).toBe(w.tip());
    await remote.git(['--git-dir', local, 'fsck', '--strict']);

    const dir = await cliClone('foreign');
    await writeFile(join(dir, 'README.md'), 'hi');
    await remote.git(['add', 'README.md'], dir);
    await remote.git(['-c', 'user.name=carol', '-c', 'user.email=c@example.com', 'commit', '--quiet', '-m', 'foreign'], dir);
    await remote.git(['push', '--quiet', 'origin', 'main'], dir);
    await w.commit({ changes: [{ path: cm('c0'), content: null }], author: bob, message: 'after compaction' });
    expect(await w.flush()).toMatchObject({ ok: true, pushedCommits: 1 });
    expect(await w.readFile(cm('c1'))).toBe(yaml('c1', '1'));
    expect(await w.readFile('README.md')).toBe('hi');
    const after = (await readdir(join(local, 'objects', 'pack'))).filter((f) => f.endsWith('.pack'));
    expect(after).toHaveLength(1);
    await remote.git(['verify-pack', join(local, 'objects', 'pack', after[0]!)]);
    await remote.git(['--git-dir', local, 'fsck', '--strict']);
    await w.close();
    writers.length = 0;

    const again = await open();
    expect(again.pending()).toBe(0);
    expect(again.files().has('README.md')).toBe(true);
    expect(again.files().has(cm('c0'))).toBe(false);
    expect(await log(await cliClone(), '%s')).toEqual(['after compaction', 'foreign', 'c4', 'c3', 'c2', 'c1', 'c0']);
  });

  it('pushes new versions of a big folder as deltas that the server accepts, also after a replay and a restart', async () => {
    const w = await open();
    const big = (i: number): string => `big/core/configmaps/cm-${String(i).padStart(4, '0')}.yaml`;
    await w.commit({ changes: Array.from({ length: 300 }, (_, i) => ({ path: big(i), content: yaml(`cm-${i}`, '0') })), author: alice, message: 'seed' });
    expect(await w.flush()).toMatchObject({ ok: true });
    for (let k = 1; k <= 150; k++) await w.commit({ changes: [{ path: big((k * 7) % 300), content: yaml(`cm-${k}`, String(k)) }], author: alice, message: `u${k}` });
    expect(await w.flush()).toMatchObject({ ok: true, pushedCommits: 150 });

    const dir = await cliClone('foreign');
    await writeFile(join(dir, 'big', 'core', 'configmaps', 'from-carol.yaml'), 'carol');
    await remote.git(['add', '-A'], dir);
    await remote.git(['-c', 'user.name=carol', '-c', 'user.email=c@example.com', 'commit', '--quiet', '-m', 'foreign'], dir);
    await remote.git(['push', '--quiet', 'origin', 'main'], dir);
    for (let k = 151; k <= 160; k++) await w.commit({ changes: [{ path: big(k % 300), content: yaml(`cm-${k}`, String(k)) }], author: bob, message: `u${k}` });
    expect(await w.flush()).toMatchObject({ ok: true, pushedCommits: 10 });
    // Commits left unpushed by a writer that stopped: pushed by the next one from what is on disk.
    await w.commit({ changes: [{ path: big(1), content: 'last-1' }], author: bob, message: 'last-1' });
    await w.commit({ changes: [{ path: big(2), content: 'last-2' }], author: bob, message: 'last-2' });
    password = 'wrong';
    await w.close();
    writers.length = 0;
    password = PASSWORD;
    const again = await open();
    expect(await again.flush()).toMatchObject({ ok: true, pushedCommits: 2 });

    const server = join(remote.tmp, 'srv', 'audit.git');
    await remote.git(['--git-dir', server, 'fsck', '--strict', '--no-dangling']);
    const packs = (await readdir(join(server, 'objects', 'pack'))).filter((f) => f.endsWith('.idx'));
    const verify = (await Promise.all(packs.map((f) => remote.git(['verify-pack', '-v', join(server, 'objects', 'pack', f)])))).join('\n');
    expect(verify).toMatch(/chain length = \d+: \d+ objects?/); // the 150 commits' pack kept the folders as deltas
    const check = await cliClone();
    await remote.git(['fsck', '--strict'], check);
    expect(await log(check, '%s')).toHaveLength(1 + 150 + 1 + 10 + 2);
    expect(await readFile(join(check, big(160 % 300)), 'utf8')).toBe(yaml('cm-160', '160'));
    expect(await readFile(join(check, big(2)), 'utf8')).toBe('last-2');
    expect(await readFile(join(check, 'big', 'core', 'configmaps', 'from-carol.yaml'), 'utf8')).toBe('carol');
  });

  it('serializes concurrent commits and pushes: all land, in call order', async () => {
    const w = await open({ pushMaxCommits: 7, pushIntervalMs: 50 });
    const calls: Promise<string>[] = [];
    for (let i = 0; i < 40; i++) {
      calls.push(w.commit({ changes: [{ path: cm(`k${i % 9}`), content: `v${i}` }], author: alice, message: `k ${i}` }));
      if (i % 13 === 0) void w.flush();
    }
    const shas = await Promise.all(calls);
    expect(new Set(shas).size).toBe(40);
    expect(await w.flush()).toMatchObject({ ok: true });
    expect(w.pending()).toBe(0);
    const dir = await cliClone();
    expect(await log(dir, '%H')).toEqual([...shas].reverse());
    expect(await readFile(join(dir, cm('k3')), 'utf8')).toBe('v39');
  });

  it('takes credentials from the URL when none are configured, and never shows them', async () => {
    const w = await open({ url: remote.cliUrl, credentials: () => undefined });
    await w.commit({ changes: [{ path: cm('a'), content: 'a' }], author: alice, message: 'one' });
    expect(await w.flush()).toMatchObject({ ok: true, pushedCommits: 1 });
    const bad = await open({ url: remote.cliUrl.replace(PASSWORD, 'nope-nope'), credentials: () => undefined }, 'clone-bad').catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'KUBESCRIBE_ERR_GIT_AUTH' });
    expect(String((bad as Error).message)).not.toContain('nope-nope');
    expect(String((bad as Error).message)).toContain(remote.url);
  });

  it('refuses a second writer on the same folder', async () => {
    await open();
    await expect(open()).rejects.toMatchObject({ code: 'KUBESCRIBE_ERR_SETTINGS_INVALID' });
  });

  it('fenced (leadership lost): no commit, no push from then on; once another leader wrote, its unpushed commits are dropped, never replayed', async () => {
    const a = await open({}, 'old-leader');
    await a.commit({ changes: [{ path: cm('web'), content: yaml('web', '1') }], author: alice, message: 'v1' });
    await a.flush();
    await a.commit({ changes: [{ path: cm('web'), content: yaml('web', '2') }], author: alice, message: 'v2 (stale once the new leader writes v3)' });
    expect(a.pending()).toBe(1);
    const fenced = a.fence();
    // Synchronously fenced: nothing more is committed or pushed.
    await expect(a.commit({ changes: [{ path: cm('other'), content: yaml('other', '1') }], author: alice, message: 'after' })).rejects.toThrow(/closed/);
    await fenced;
    const r = await a.flush();
    expect(r.pushedCommits).toBe(0);
    // The new leader records v2 and v3 on its own.
    const b = await open({}, 'new-leader');
    await b.commit({ changes: [{ path: cm('web'), content: yaml('web', '2') }], author: alice, message: 'v2' });
    await b.commit({ changes: [{ path: cm('web'), content: yaml('web', '3') }], author: bob, message: 'v3' });
    await b.flush();
    // The old leader leads again later: it opens the same folder and has nothing of its own to push.
    const again = await open({}, 'old-leader');
    expect(again.pending()).toBe(0);
    await again.flush();
    const dir = await cliClone();
    expect(await log(dir, '%s')).toEqual(['v3', 'v2', 'v1']);
    expect(await readFile(join(dir, cm('web')), 'utf8')).toBe(yaml('web', '3'));
  });

  it('fenced, then leading again before anyone else wrote: the held-back commits are pushed', async () => {
    const a = await open({}, 'flapping');
    await a.commit({ changes: [{ path: cm('web'), content: yaml('web', '1') }], author: alice, message: 'v1' });
    await a.flush();
    await a.commit({ changes: [{ path: cm('web'), content: yaml('web', '2') }], author: bob, message: 'v2' });
    await a.fence();
    const again = await open({}, 'flapping');
    expect(again.pending()).toBe(1);
    await again.flush();
    const dir = await cliClone();
    expect(await log(dir, '%s %an')).toEqual(['v2 bob', 'v1 alice']);
  });
});
