// One push of the local branch, in three steps so that the network wait does not block commits:
// under the lock, pack what the journal holds (durable first) and build the pack of the objects
// our unpushed commits introduced; outside it, send that pack (HTTP or SSH, no isomorphic-git,
// no shared state); under the lock again, record the result. When the remote moved in between
// (non-fast-forward): fetch, replay our commits on its new tip, and try again a few times.
// Failures come back as a PushResult carrying a KubescribeError; the commits stay local.
import * as fs from 'node:fs';
import git from 'isomorphic-git';
import { buildPack } from './build-pack.ts';
import { collectObjects } from './collect-objects.ts';
import { fetchBranch } from './fetch-branch.ts';
import { KubescribeError } from '../errors.ts';
import { redactUrl, toGitError } from './git-error.ts';
import type { RepoLock } from './lock.ts';
import { syncWithRemote } from './replay.ts';
import { readCommit, type Repo } from './repo.ts';
import { sendPack, ZERO_OID, type SendPackInput } from './send-pack.ts';
import { transportFor } from './transport.ts';
import type { PushResult } from './types.ts';

const MAX_ROUNDS = 3;

interface Prepared { input: SendPackInput; count: number; mark: number }

async function prepare(repo: Repo): Promise<Prepared | undefined> {
  const tip = repo.tip;
  if (repo.unpushed.length === 0 || !tip) return undefined;
  await repo.store.flush();
  const mark = repo.store.mark();
  const first = await readCommit(repo.store, repo.unpushed[0]!);
  const unpushed = new Set(repo.unpushed);
  for (const oid of repo.introduced.keys()) if (!unpushed.has(oid)) repo.introduced.delete(oid);
  const objects = await repo.store.packObjects(await collectObjects(repo.store, repo.unpushed, repo.introduced));
  return {
    count: repo.unpushed.length,
    mark,
    input: {
      url: repo.url,
      transport: transportFor(repo.url, repo.credentials()),
      ref: `refs/heads/${repo.branch}`,
      old: first?.parents[0] ?? ZERO_OID,
      new: tip,
      pack: buildPack(objects, { index: false, refDelta: true }).pack,
    },
  };
}

async function landed(repo: Repo, p: Prepared): Promise<void> {
  const sha = p.input.new;
  await git.writeRef({ fs, gitdir: repo.dir, ref: `refs/remotes/origin/${repo.branch}`, value: sha, force: true });
  repo.remoteTip = sha;
  // Commits made while the pack was on its way stay pending.
  const pushed = repo.unpushed.indexOf(sha) + 1;
  for (const oid of repo.unpushed.slice(0, pushed)) repo.introduced.delete(oid);
  repo.unpushed = repo.unpushed.slice(pushed);
  repo.store.forgetRecent(p.mark);
}

function localError(err: unknown): KubescribeError {
  if (err instanceof KubescribeError) return err;
  return new KubescribeError('KUBESCRIBE_ERR_INTERNAL', `preparing the push in the local store failed: ${(err as Error).message ?? String(err)}`, { cause: err });
}

/** Pushes every commit pending when it starts. Call one at a time (the writer chains them). */
export async function pushBranch(repo: Repo, lock: RepoLock): Promise<PushResult> {
  const started = Date.now();
  const result = (r: Omit<PushResult, 'durationMs' | 'at'>): PushResult => ({ ...r, durationMs: Date.now() - started, at: new Date() });
  for (let round = 1; ; round++) {
    let prepared: Prepared | undefined;
    let outcome;
    try {
      prepared = await lock.run(() => prepare(repo));
    } catch (err) {
      // Packing is local work: its failure is the store's, never the remote's.
      return result({ ok: false, sha: repo.tip, pushedCommits: 0, error: localError(err) });
    }
    if (!prepared) return result({ ok: true, sha: repo.tip, pushedCommits: 0 });
    try {
      outcome = await sendPack(prepared.input);
    } catch (err) {
      return result({ ok: false, sha: repo.tip, pushedCommits: 0, error: toGitError(err, repo.url, 'push') });
    }
    const p = prepared;
    if (outcome.status === 'ok') {
      await lock.run(() => landed(repo, p));
      return result({ ok: true, sha: p.input.new, pushedCommits: p.count });
    }
    if (outcome.remoteOid === ZERO_OID) {
      // Our commits sit on history the remote no longer has; we hold only its tip (shallow).
      return result({ ok: false, sha: repo.tip, pushedCommits: 0, error: new KubescribeError('KUBESCRIBE_ERR_GIT_PUSH_REJECTED', `branch ${repo.branch} no longer exists on ${redactUrl(repo.url)}; recreate it from the last pushed commit ${repo.remoteTip ?? ''}`.trim()) });
    }
    if (round >= MAX_ROUNDS) {
      return result({ ok: false, sha: repo.tip, pushedCommits: 0, error: new KubescribeError('KUBESCRIBE_ERR_GIT_PUSH_REJECTED', `push to ${redactUrl(repo.url)}: the remote branch keeps moving (now at ${outcome.remoteOid}); trying again later`) });
    }
    repo.logger.info({ event: 'git.push-behind', round, remote: outcome.remoteOid }, 'remote branch moved; fetching and replaying');
    try {
      await lock.run(async () => {
        const previous = repo.remoteTip;
        const remoteTip = await fetchBranch(repo);
        await syncWithRemote(repo, remoteTip, previous);
      });
    } catch (err) {
      return result({ ok: false, sha: repo.tip, pushedCommits: 0, error: toGitError(err, repo.url, 'fetch') });
    }
  }
}
