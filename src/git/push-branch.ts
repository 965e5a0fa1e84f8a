// One push attempt of the local branch: pack what the journal holds (durable first), send the
// objects our unpushed commits introduced, and when the remote moved in between
// (non-fast-forward), fetch, replay our commits on its new tip and try again a few times.
// Failures come back as a PushResult carrying a KubescribeError; the commits stay local and the
// writer retries later.
import * as fs from 'node:fs';
import git from 'isomorphic-git';
import { buildPack } from './build-pack.ts';
import { collectObjects } from './collect-objects.ts';
import { fetchBranch } from './fetch-branch.ts';
import { toGitError } from './git-error.ts';
import { syncWithRemote } from './replay.ts';
import { authHeaders, readCommit, type Repo } from './repo.ts';
import { sendPack, ZERO_OID } from './send-pack.ts';
import type { PushResult } from './types.ts';

const MAX_ROUNDS = 3;

export async function pushBranch(repo: Repo): Promise<PushResult> {
  const started = Date.now();
  const result = (r: Omit<PushResult, 'durationMs' | 'at'>): PushResult => ({ ...r, durationMs: Date.now() - started, at: new Date() });
  for (let round = 1; ; round++) {
    const count = repo.unpushed.length;
    const tip = repo.tip;
    if (count === 0 || !tip) return result({ ok: true, sha: tip, pushedCommits: 0 });
    let outcome;
    try {
      await repo.store.flush();
      const first = await readCommit(repo.store, repo.unpushed[0]!);
      const objects = await collectObjects(repo.store, repo.unpushed);
      outcome = await sendPack({
        url: repo.url,
        headers: authHeaders(repo),
        ref: `refs/heads/${repo.branch}`,
        old: first?.parents[0] ?? ZERO_OID,
        new: tip,
        pack: buildPack(objects, false).pack,
      });
    } catch (err) {
      return result({ ok: false, sha: tip, pushedCommits: 0, error: toGitError(err, repo.url, 'push') });
    }
    if (outcome.status === 'ok') {
      await git.writeRef({ fs, gitdir: repo.dir, ref: `refs/remotes/origin/${repo.branch}`, value: tip, force: true });
      repo.remoteTip = tip;
      repo.unpushed = [];
      repo.store.forgetRecent();
      return result({ ok: true, sha: tip, pushedCommits: count });
    }
    if (round >= MAX_ROUNDS) {
      return result({ ok: false, sha: tip, pushedCommits: 0, error: toGitError(new Error(`remote branch keeps moving (now at ${outcome.remoteOid})`), repo.url, 'push') });
    }
    repo.logger.info({ event: 'git.push-behind', round, remote: outcome.remoteOid }, 'remote branch moved; fetching and replaying');
    try {
      const previous = repo.remoteTip;
      const remoteTip = await fetchBranch(repo);
      await syncWithRemote(repo, remoteTip, previous);
    } catch (err) {
      return result({ ok: false, sha: tip, pushedCommits: 0, error: toGitError(err, repo.url, 'fetch') });
    }
  }
}
