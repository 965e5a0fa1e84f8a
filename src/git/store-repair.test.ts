// Issue 18, recovery: a data dir damaged by the old writer (a delta cycle in its journal, the
// fixture e2e/fixtures/delta-cycle made with the code of 6e36cc8) or damaged otherwise (an object
// of an unpushed commit unreadable) comes back: every readable pending commit reaches a real git
// server, the remote passes `git fsck --strict`, and the writer says what it did.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startGitServer, type GitServer } from '../../e2e/stack/git-server.ts';
import { GitWriter } from './index.ts';
import { PASSWORD, silentLogger, startGitRemote, USER, type GitRemote } from './testing/git-remote.ts';

const exec = promisify(execFile);
const FIXTURE = resolve(import.meta.dirname, '../../e2e/fixtures/delta-cycle/delta-cycle.tar.gz');
const committer = { name: 'kubescribe', email: 'kubescribe@example.com' };

describe('a damaged local store', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => { for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined); });

  it('with a delta cycle written by the old code: repaired on open, every pending commit pushed', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'cycle-fixture-'));
    cleanup.push(() => rm(tmp, { recursive: true, force: true }));
    await exec('tar', ['-xzf', FIXTURE, '-C', tmp]);
    const server: GitServer = await startGitServer({ root: join(tmp, 'srv'), username: 'u', password: 'p', port: 0 });
    cleanup.push(() => server.stop());
    const pendingBefore = (await exec('git', ['--git-dir', join(tmp, 'data'), 'rev-list', '--count', 'main'])).stdout.trim();
    const w = await GitWriter.open({ dir: join(tmp, 'data'), url: `${server.url}/audit.git`, branch: 'main', credentials: () => ({ username: 'u', password: 'p' }), committer, pushIntervalMs: 3_600_000, logger: silentLogger });
    cleanup.push(() => w.close());
    expect(w.storeRepair()).toMatchObject({ action: 'repaired', lost: 0 });
    expect(w.pending()).toBe(16);
    const r = await w.flush();
    expect(r).toMatchObject({ ok: true, pushedCommits: 16, storeRepair: { action: 'repaired' } });
    const remote = join(tmp, 'srv', 'audit.git');
    await exec('git', ['--git-dir', remote, 'fsck', '--strict']);
    const authors = (await exec('git', ['--git-dir', remote, 'log', '--format=%an', 'main'])).stdout.trim().split('\n');
    expect(authors).toHaveLength(19); // CREATE, 2 pushed before the damage, 16 pending
    expect(authors.filter((a) => a === 'alice')).toHaveLength(6);
    expect(authors.filter((a) => a === 'bob')).toHaveLength(6);
    expect(authors.filter((a) => a === 'carol')).toHaveLength(6);
    expect(Number(pendingBefore)).toBe(3); // the local branch ref was behind its journal
    // The content ends where the journal ended: cm-0 at x=1 after five flips, cm-1..12 at 7.
    const show = (p: string): Promise<string> => exec('git', ['--git-dir', remote, 'show', `main:cyc/core/configmaps/${p}.yaml`]).then((o) => o.stdout);
    expect(await show('cm-0')).toContain('x: "1"');
    expect(await show('cm-12')).toContain('x: "7"');
    await w.commit({ changes: [{ path: 'cyc/core/configmaps/cm-0.yaml', content: 'after\n' }], author: { name: 'alice', email: 'a@x' }, message: 'UPDATE after the repair\n' });
    expect(await w.flush()).toMatchObject({ ok: true, pushedCommits: 1 });
  });

  describe('with an object of an unpushed commit unreadable', () => {
    let remote: GitRemote;
    afterEach(async () => { await remote.stop(); });

    it('is rebuilt from a fresh clone; the readable commits are pushed, the lost one is counted', async () => {
      remote = await startGitRemote();
      const dir = join(remote.tmp, 'clone');
      const opts = { dir, url: remote.url, branch: 'main', credentials: () => ({ username: USER, password: PASSWORD }), committer, pushIntervalMs: 3_600_000, logger: silentLogger };
      const first = await GitWriter.open(opts);
      await first.commit({ changes: [{ path: 'ns/a.yaml', content: 'a: 1\n' }], author: { name: 'admin', email: 'admin@x' }, message: 'CREATE a\n' });
      expect((await first.flush()).ok).toBe(true);
      for (const [name, who] of [['one', 'alice'], ['two', 'bob'], ['three', 'carol']] as const) {
        await first.commit({ changes: [{ path: `ns/${name}.yaml`, content: `file-${name}: yes\n` }], author: { name: who, email: `${who}@x` }, message: `CREATE ${name}\n` });
      }
      // A crash with three commits in the journal; then one byte of bob's file goes bad on disk.
      await cp(dir, `${dir}.copy`, { recursive: true });
      await remote.server.stop(); // close() would push otherwise
      await first.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      await cp(`${dir}.copy`, dir, { recursive: true });
      await remote.restart();
      const journal = join(dir, 'kubescribe.journal');
      const bytes = await readFile(journal);
      const at = bytes.indexOf('file-two');
      expect(at).toBeGreaterThan(0);
      bytes[at] = 'F'.charCodeAt(0);
      await writeFile(journal, bytes);

      const w = await GitWriter.open(opts);
      try {
        const r = await w.flush();
        expect(r.ok).toBe(true);
        expect(r.storeRepair).toMatchObject({ action: 'rebuilt', salvaged: 2, lost: 1 });
        expect(w.storeRepair()?.reason).toMatch(/missing/);
        const log = (await exec('git', ['--git-dir', join(remote.tmp, 'srv', 'audit.git'), 'log', '--format=%an %s', 'main'])).stdout.trim().split('\n');
        expect(log).toEqual(['carol CREATE three', 'alice CREATE one', 'admin CREATE a']);
        await exec('git', ['--git-dir', join(remote.tmp, 'srv', 'audit.git'), 'fsck', '--strict']);
      } finally {
        await w.close();
      }
    });
  });
});
