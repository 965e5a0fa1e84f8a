// The CLI on an audit repository of realistic size: 10,000 files, 2,000 commits. Asserts on
// what is read (commits once, trees only along changed paths, no blob of an unrelated commit)
// rather than on wall time, which depends on the machine.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveRef } from 'isomorphic-git';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectChanges } from './object-history.ts';
import { RepoReader } from './repo-reader.ts';
import { buildLargeRepo } from './testing/large-repo.ts';
import { kubescribe } from './testing/run-cli.ts';

const FILES = 10_000;
const COMMITS = 2_000;
const STRIDE = 100;
let tmp: string;
let repo: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'kubescribe-large-'));
  repo = join(tmp, 'audit.git');
  await buildLargeRepo(repo, { files: FILES, commits: COMMITS, stride: STRIDE, start: new Date('2025-01-01T00:00:00Z') });
}, 60_000);
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe(`a repository of ${FILES} files and ${COMMITS} commits`, () => {
  it('follows one object by reading each commit once and only the trees along its path', async () => {
    const reader = new RepoReader(repo);
    const tip = await resolveRef({ fs, gitdir: repo, ref: 'main' });
    const changes = [];
    for await (const c of objectChanges(reader, tip, ['ns-0', 'apps', 'deployments', 'obj-0.yaml'])) changes.push(c);
    expect(changes).toHaveLength(COMMITS / STRIDE + 1);
    expect(changes.at(-1)?.operation).toBe('RECONCILE');
    expect(reader.reads.blobs).toBe(0);
    expect(reader.reads.commits).toBe(COMMITS + 1);
    // A root tree a commit; the namespace folder, the group and the resource folders only when
    // something below them changed (ns-0 holds 1 object in 20).
    expect(reader.reads.trees).toBeLessThan(COMMITS * 1.5);
  }, 60_000);

  it('history, blame and who answer', async () => {
    const history = await kubescribe(['history', 'deploy', 'ns-0/obj-0', '--repo', repo]);
    expect(history.code).toBe(0);
    expect(history.stdout.split('\n').filter((l) => /^\d{4}-/.test(l))).toHaveLength(COMMITS / STRIDE + 1);
    expect(history.stdout).toContain('-  generation: 1900\n+  generation: 2000');

    const blame = await kubescribe(['blame', 'deploy', 'ns-0/obj-0', '--repo', repo]);
    expect(blame.code).toBe(0);
    expect(blame.stdout.split('\n').filter((l) => l.includes('generation: 2000'))[0]).toMatch(/^\w{7} {2}\(alice +2025-01-02T09:20:00Z /);

    const who = await kubescribe(['who', '--user', 'alice', '--since', '2025-01-02T08:00:00Z', '--repo', repo], { now: new Date('2025-01-03T00:00:00Z') });
    expect(who.code).toBe(0);
    expect(who.stdout.split('\n').filter((l) => l !== '').length).toBeGreaterThan(0);
  }, 60_000);
});
