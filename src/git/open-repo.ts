// Opening a writer's repository: a bare local clone in a persistent folder. A new folder is
// initialised and fetched shallow; an existing one is reused: the journal of a crash is
// replayed (object-store.ts), the remote fetched, and local commits it lacks are found again by
// walking back to the last known remote tip, so nothing is committed twice and nothing is lost.
import * as fs from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import type { Logger } from 'pino';
import { KubescribeError } from '../errors.ts';
import { fetchBranch } from './fetch-branch.ts';
import { redactUrl } from './git-error.ts';
import { ObjectStore } from './object-store.ts';
import { assertSafeBranch } from './paths.ts';
import { syncWithRemote } from './replay.ts';
import { commitsSince, readCommit, type Repo } from './repo.ts';
import { isSshUrl } from './ssh-url.ts';
import { TreeIndex } from './tree-index.ts';
import type { CommitSigning, Credentials } from './types.ts';

export interface OpenRepoOptions {
  dir: string;
  url: string;
  branch: string;
  credentials: () => Credentials | undefined;
  committer: { name: string; email: string };
  signing?: () => CommitSigning;
  logger: Logger;
}

/** Left by a writer fenced (leadership lost) with unpushed commits: the remote tip it knew then. */
const FENCE_MARK = 'kubescribe-fenced';

export async function writeFenceMark(dir: string, remoteTip: string | undefined): Promise<void> {
  await writeFile(join(dir, FENCE_MARK), remoteTip ?? '');
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** Credentials written into the URL (https://user:pass@host/...) serve when none are configured. */
function splitUrl(url: string, credentials: () => Credentials | undefined): { url: string; credentials: () => Credentials | undefined } {
  // An SSH URL's user is the login (git@host), not a credential; scp-like URLs are no WHATWG URLs.
  if (isSshUrl(url)) return { url, credentials };
  let inUrl: Credentials | undefined;
  try {
    const u = new URL(url);
    if (u.username || u.password) inUrl = { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
  } catch {
    throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `invalid Git remote URL ${JSON.stringify(redactUrl(url))}`);
  }
  if (!inUrl) return { url, credentials };
  const fallback = inUrl;
  return { url: redactUrl(url), credentials: () => credentials() ?? fallback };
}

export async function openRepo(opts: OpenRepoOptions): Promise<Repo> {
  assertSafeBranch(opts.branch);
  const remote = splitUrl(opts.url, opts.credentials);
  const dir = opts.dir;
  const fresh = !(await exists(join(dir, 'HEAD')));
  if (fresh) {
    await mkdir(dir, { recursive: true });
    await git.init({ fs, gitdir: dir, bare: true, defaultBranch: opts.branch });
  }
  // For people who inspect the folder with the git CLI; the URL carries no credentials.
  await git.setConfig({ fs, gitdir: dir, path: 'remote.origin.url', value: remote.url });
  await git.setConfig({ fs, gitdir: dir, path: 'remote.origin.fetch', value: `+refs/heads/${opts.branch}:refs/remotes/origin/${opts.branch}` });

  const store = await ObjectStore.open(dir, opts.branch);
  try {
    return await load(store, opts, remote);
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
}

async function load(store: ObjectStore, opts: OpenRepoOptions, remote: { url: string; credentials: () => Credentials | undefined }): Promise<Repo> {
  const previousRemote = await store.readRef(`refs/remotes/origin/${opts.branch}`);
  const localTip = store.getTip();
  const repo: Repo = {
    dir: opts.dir,
    url: remote.url,
    branch: opts.branch,
    store,
    tree: await TreeIndex.load(store, undefined),
    tip: localTip,
    remoteTip: previousRemote,
    unpushed: await commitsSince(store, localTip, previousRemote),
    introduced: new Map(),
    committer: opts.committer,
    signing: opts.signing ?? (() => undefined),
    credentials: remote.credentials,
    logger: opts.logger,
  };

  const fencedAt = await readFile(join(opts.dir, FENCE_MARK), 'utf8').catch(() => undefined);
  try {
    const remoteTip = await fetchBranch(repo);
    if (localTip === undefined) {
      repo.tip = remoteTip;
      store.setTip(remoteTip);
    } else if (fencedAt !== undefined && repo.unpushed.length > 0 && (remoteTip ?? '') !== fencedAt) {
      // Fenced with unpushed commits, and another leader wrote since: it recorded the same changes
      // from the branch's checkpoints, so ours are stale — dropped, never replayed over its.
      repo.logger.warn({ event: 'git.fenced-dropped', dropped: repo.unpushed.length, remote: remoteTip }, 'commits held back when leadership was lost are dropped: another leader wrote the branch since');
      repo.tip = remoteTip;
      store.setTip(remoteTip);
      repo.unpushed = [];
    } else {
      await syncWithRemote(repo, remoteTip, previousRemote);
    }
    if (fencedAt !== undefined) await rm(join(opts.dir, FENCE_MARK), { force: true });
  } catch (err) {
    // With nothing local we cannot know what the branch holds, and commits held back at a fence
    // must not be pushed before we know whether another leader wrote: let the caller retry open().
    if (localTip === undefined || fencedAt !== undefined) throw err;
    repo.logger.warn({ event: 'git.fetch-failed', err }, 'could not fetch at start-up; working on the local branch');
  }
  let tree: string | undefined;
  if (repo.tip) {
    tree = (await readCommit(store, repo.tip))?.tree;
    if (!tree) throw new KubescribeError('KUBESCRIBE_ERR_GIT_STORE_CORRUPT', `the tip ${repo.tip} of ${opts.branch} is missing from ${opts.dir}`);
  }
  repo.tree = await TreeIndex.load(store, tree);
  await store.flush();
  return repo;
}
