// One push of the local branch, in three steps so that the network wait does not block commits:
// under the lock, pack what the journal holds (durable first) and build the pack of the objects
// our unpushed commits introduced; outside it, send that pack (HTTP or SSH, no isomorphic-git,
// no shared state); under the lock again, record the result. When the remote moved in between
// (non-fast-forward): fetch, replay our commits on its new tip, and try again a few times.
// A push goes in bounded rounds: each sends the oldest pending commits whose objects fit in
// MAX_ROUND_BYTES (deflated entries), so after a long outage no request outgrows a proxy's body
// limit or the timeout; a 413 halves the budget and the round is sent again.
// A round's pack is thin when it can be: a folder's first version in it (whole in the local pack)
// goes as a delta of the version the last round landed, which the remote holds — as `git push`
// does. A burst into a folder of 10,000 otherwise sent (and deflated) that folder whole each push.
// Failures come back as a PushResult carrying a KubescribeError; the commits stay local.
import * as fs from 'node:fs';
import git from 'isomorphic-git';
import { packPieces, type DeltaObject, type PackObject } from './build-pack.ts';
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
/** Default budget of one push request (the pack, deflated). */
export const MAX_ROUND_BYTES = 8 * 1024 * 1024;
const MIN_ROUND_BYTES = 64 * 1024;

/** `bytes`: the pack's length, as packPieces counted it. */
interface PushRound { input: SendPackInput; count: number; mark: number; trees: string[]; bytes: number }

const entrySize = (e: PackObject | DeltaObject): number => ('body' in e ? e.body.byteLength : e.delta.byteLength);

/** The oldest pending commits whose objects fit in `budget` bytes (at least one), packed. */
async function packRound(repo: Repo, signal: AbortSignal | undefined, budget: number, thinAllowed = true): Promise<PushRound | undefined> {
  signal?.throwIfAborted();
  if (repo.unpushed.length === 0 || !repo.tip) return undefined;
  await repo.store.flush();
  const mark = repo.store.mark();
  const first = await readCommit(repo.store, repo.unpushed[0]!);
  const unpushed = new Set(repo.unpushed);
  for (const oid of repo.introduced.keys()) if (!unpushed.has(oid)) repo.introduced.delete(oid);
  // Each commit's new objects, oldest commit first; packed once, so a delta keeps its base (always
  // earlier in the list) and no big folder is rebuilt whole just to be measured.
  const groups: number[] = [];
  const oids = new Set<string>();
  for (const commit of repo.unpushed) {
    for (const o of await collectObjects(repo.store, [commit], repo.introduced)) oids.add(o);
    groups.push(oids.size);
  }
  // Bases the remote holds for sure: the trees of the round that landed the commit we build on.
  const old = first?.parents[0] ?? ZERO_OID;
  const landed = thinAllowed && !repo.noThin && repo.landedTrees?.tip === old ? repo.landedTrees.trees : undefined;
  const entries = await repo.store.packObjects(oids, landed && ((oid) => landed.has(oid)));
  // The longest prefix of commits whose objects fit in the budget (sizes before deflating), at least one.
  let count = 0;
  let bytes = 0;
  for (let i = 0, at = 0; i < groups.length; i++) {
    let size = 0;
    for (; at < groups[i]!; at++) size += entrySize(entries[at]!);
    if (count > 0 && bytes + size > budget) break;
    bytes += size;
    count++;
  }
  const objects = entries.slice(0, groups[count - 1]);
  const inPack = new Set(objects.map((o) => o.oid));
  const thin = objects.some((o) => 'delta' in o && !inPack.has(o.base));
  const pack = packPieces(objects, { index: false, refDelta: true, compress: true, thin });
  return {
    count,
    mark,
    bytes: pack.bytes,
    trees: objects.filter((o) => o.type === 'tree').map((o) => o.oid),
    input: {
      url: repo.url,
      transport: transportFor(repo.url, repo.credentials()),
      ref: `refs/heads/${repo.branch}`,
      old,
      new: repo.unpushed[count - 1]!,
      pack: pack.pieces,
      thin,
      signal,
    },
  };
}

async function landed(repo: Repo, p: PushRound): Promise<void> {
  const sha = p.input.new;
  await git.writeRef({ fs, gitdir: repo.dir, ref: `refs/remotes/origin/${repo.branch}`, value: sha, force: true });
  repo.remoteTip = sha;
  repo.landedTrees = { tip: sha, trees: new Set(p.trees) };
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

/**
 * Pushes every commit pending when it starts. Call one at a time (the writer chains them).
 * `signal` fences it: once aborted, nothing more is sent, fetched or replayed.
 */
export async function pushBranch(repo: Repo, lock: RepoLock, signal?: AbortSignal): Promise<PushResult> {
  const started = Date.now();
  let pushedBytes = 0;
  const result = (r: Omit<PushResult, 'durationMs' | 'at' | 'pushedBytes'>): PushResult => ({ ...r, pushedBytes, durationMs: Date.now() - started, at: new Date() });
  // Rounds until what was pending at the start is on the remote (commits made meanwhile may ride along).
  const goal = repo.unpushed.length;
  let pushed = 0;
  let budget = MAX_ROUND_BYTES;
  let conflicts = 0;
  let sha = repo.tip;
  for (;;) {
    let round: PushRound | undefined;
    let outcome;
    try {
      round = await lock.run(() => packRound(repo, signal, budget));
    } catch (err) {
      // Packing is local work: its failure is the store's, never the remote's. A thin pack is an
      // optimisation: should building one ever fail, the push goes whole rather than failing at every try.
      if (signal?.aborted) return result({ ok: false, sha: repo.tip, pushedCommits: pushed, error: localError(err) });
      repo.logger.warn({ event: 'git.pack-failed', err: (err as Error).message }, 'packing the push failed; packing it once more without thin deltas');
      try {
        round = await lock.run(() => packRound(repo, signal, budget, false));
      } catch (again) {
        return result({ ok: false, sha: repo.tip, pushedCommits: pushed, error: localError(again) });
      }
    }
    if (!round) return result({ ok: true, sha, pushedCommits: pushed });
    try {
      outcome = await sendPack(round.input);
    } catch (err) {
      if ((err as { code?: string }).code === 'KUBESCRIBE_ERR_GIT_PUSH_TOO_LARGE' && (round.count > 1 || budget > MIN_ROUND_BYTES)) {
        // A proxy or server limit on the body: smaller rounds.
        budget = Math.max(MIN_ROUND_BYTES, Math.floor(budget / 2));
        repo.logger.info({ event: 'git.push-too-large', commits: round.count, bytes: round.bytes, nextBudget: budget }, 'push body too large for the remote; pushing in smaller rounds');
        continue;
      }
      return result({ ok: false, sha: repo.tip, pushedCommits: pushed, error: toGitError(err, repo.url, 'push') });
    }
    const p = round;
    if (outcome.status === 'thin-refused') {
      repo.noThin = true;
      repo.logger.info({ event: 'git.no-thin' }, 'the remote refuses thin packs; pushing whole ones');
      continue;
    }
    if (outcome.status === 'ok') {
      await lock.run(() => landed(repo, p));
      pushed += p.count;
      pushedBytes += p.bytes;
      sha = p.input.new;
      if (repo.unpushed.length === 0 || pushed >= goal) return result({ ok: true, sha, pushedCommits: pushed });
      continue;
    }
    if (outcome.remoteOid === ZERO_OID) {
      // Our commits sit on history the remote no longer has; we hold only its tip (shallow).
      return result({ ok: false, sha: repo.tip, pushedCommits: pushed, error: new KubescribeError('KUBESCRIBE_ERR_GIT_PUSH_REJECTED', `branch ${repo.branch} no longer exists on ${redactUrl(repo.url)}; recreate it from the last pushed commit ${repo.remoteTip ?? ''}`.trim()) });
    }
    if (++conflicts >= MAX_ROUNDS) {
      return result({ ok: false, sha: repo.tip, pushedCommits: pushed, error: new KubescribeError('KUBESCRIBE_ERR_GIT_PUSH_REJECTED', `push to ${redactUrl(repo.url)}: the remote branch keeps moving (now at ${outcome.remoteOid}); trying again later`) });
    }
    repo.logger.info({ event: 'git.push-behind', round: conflicts, remote: outcome.remoteOid }, 'remote branch moved; fetching and replaying');
    try {
      await lock.run(async () => {
        signal?.throwIfAborted();
        const previous = repo.remoteTip;
        const remoteTip = await fetchBranch(repo);
        await syncWithRemote(repo, remoteTip, previous);
      });
    } catch (err) {
      return result({ ok: false, sha: repo.tip, pushedCommits: pushed, error: toGitError(err, repo.url, 'fetch') });
    }
  }
}
