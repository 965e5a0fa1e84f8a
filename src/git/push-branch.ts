// One push attempt of the local branch: pack what the journal holds, send it, and when the
// remote moved in between (non-fast-forward), fetch, replay our commits on its new tip and try
// again a few times. Failures come back as a PushResult carrying a KubescribeError; the commits
// stay local and the writer retries later.
import * as fs from 'node:fs';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { fetchBranch } from './fetch-branch.ts';
import { isNonFastForward, toGitError } from './git-error.ts';
import { syncWithRemote } from './replay.ts';
import { authHeaders, type Repo } from './repo.ts';
import type { PushResult } from './types.ts';

const MAX_ROUNDS = 3;

export async function pushBranch(repo: Repo): Promise<PushResult> {
  const started = Date.now();
  const result = (r: Omit<PushResult, 'durationMs' | 'at'>): PushResult => ({ ...r, durationMs: Date.now() - started, at: new Date() });
  for (let round = 1; ; round++) {
    const count = repo.unpushed.length;
    if (count === 0 || !repo.tip) return result({ ok: true, sha: repo.tip, pushedCommits: 0 });
    try {
      await repo.store.flush();
      await git.push({
        fs,
        http,
        gitdir: repo.dir,
        url: repo.url,
        ref: repo.branch,
        remoteRef: repo.branch,
        headers: authHeaders(repo),
        cache: repo.store.cache,
      });
      repo.remoteTip = repo.tip;
      repo.unpushed = [];
      return result({ ok: true, sha: repo.tip, pushedCommits: count });
    } catch (err) {
      if (!isNonFastForward(err) || round >= MAX_ROUNDS) {
        return result({ ok: false, sha: repo.tip, pushedCommits: 0, error: toGitError(err, repo.url, 'push') });
      }
      repo.logger.info({ event: 'git.push-behind', round }, 'remote branch moved; fetching and replaying');
      try {
        const previous = repo.remoteTip;
        const remoteTip = await fetchBranch(repo);
        await syncWithRemote(repo, remoteTip, previous);
      } catch (fetchErr) {
        return result({ ok: false, sha: repo.tip, pushedCommits: 0, error: toGitError(fetchErr, repo.url, 'fetch') });
      }
    }
  }
}
