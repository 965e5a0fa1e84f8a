// A fresh, empty bare repository (branch main) for each test of the enclosing describe, removed after it.
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { afterEach, beforeEach } from 'vitest';

/** Registers the hooks; `use` receives each test's folder before the test runs. */
export function freshBareRepoPerTest(prefix: string, use: (dir: string) => void): void {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    await git.init({ fs, gitdir: dir, bare: true, defaultBranch: 'main' });
    use(dir);
  });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });
}
