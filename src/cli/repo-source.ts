// Where the audit history is read from: a local clone (bare or not) used in place, or an
// http(s) remote mirrored read-only into ~/.cache/kubescribe/repos/<hash of url> and fetched
// again on every run. Credentials (from the URL or KUBESCRIBE_GIT_USERNAME/PASSWORD) go into
// an Authorization header only: never into the cache's config, the cache path, or a message.
// The result is a gitdir and the commit at the tip of the chosen branch; nothing is written to
// a local clone and nothing is ever pushed.

import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addRemote, currentBranch, fetch, findRoot, init, listBranches, resolveRef } from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { redactUrl } from '../git/git-error.ts';
import type { Env } from './context.ts';
import { CliError, usageError } from './errors.ts';

export interface RepoSourceOptions {
  /** A path, a file:// URL or an http(s) URL; undefined: $KUBESCRIBE_REPO, else the working directory. */
  readonly repo: string | undefined;
  /** undefined: the current branch of a local clone, the default branch of a remote. */
  readonly branch: string | undefined;
  readonly cwd: string;
  readonly home: string;
  readonly env: Env;
  /** Told what takes time (cloning, fetching); the CLI passes it only when stderr is a terminal. */
  readonly progress?: ((message: string) => void) | undefined;
}

export interface AuditRepo {
  readonly gitdir: string;
  /** The commit at the tip of `branch`. */
  readonly tip: string;
  readonly branch: string;
  /** How to name the repository in messages: a path, or the URL without credentials. */
  readonly label: string;
}

const REMOTE = 'origin';

export async function openRepo(options: RepoSourceOptions): Promise<AuditRepo> {
  const spec = options.repo || options.env.KUBESCRIBE_REPO || options.cwd;
  if (/^https?:\/\//i.test(spec)) return openRemote(spec, options);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec) && !spec.startsWith('file://')) {
    throw usageError(`unsupported repository URL scheme in "${redactUrl(spec)}"`, 'use an http(s) URL, or clone the repository yourself and pass its path');
  }
  if (/^[\w.-]+@[\w.-]+:/.test(spec)) {
    throw usageError(`SSH remotes are not supported ("${spec}")`, 'use an http(s) URL, or clone the repository yourself and pass its path');
  }
  return openLocal(spec.startsWith('file://') ? fileURLToPath(spec) : resolve(options.cwd, spec), options.branch);
}

// ---- local clones -------------------------------------------------------------------------

async function openLocal(path: string, branch: string | undefined): Promise<AuditRepo> {
  const gitdir = await findGitdir(path);
  if (gitdir === undefined) {
    throw new CliError(`not a Git repository: ${path}`, { hint: 'pass --repo <path of a clone of the audit repository, or its URL>' });
  }
  if (branch !== undefined) {
    const tip = await firstResolvable(gitdir, [`refs/heads/${branch}`, `refs/remotes/${REMOTE}/${branch}`, branch]);
    if (tip === undefined) throw await unknownBranch(branch, path, gitdir, undefined);
    return { gitdir, tip, branch, label: path };
  }
  const current = (await currentBranch({ fs, gitdir }).catch(() => undefined)) ?? 'HEAD';
  const tip = await firstResolvable(gitdir, ['HEAD']);
  if (tip === undefined) throw new CliError(`the repository at ${path} has no commits on its current branch (${current}) yet`);
  return { gitdir, tip, branch: current, label: path };
}

async function findGitdir(path: string): Promise<string | undefined> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isDirectory()) throw new CliError(`repository path not found: ${path}`);
  const dotGit = join(path, '.git');
  const dotGitInfo = await stat(dotGit).catch(() => undefined);
  if (dotGitInfo?.isDirectory()) return dotGit;
  if (dotGitInfo?.isFile()) {
    // A `.git` file (submodule, worktree) points at the real gitdir.
    const m = /^gitdir:\s*(.+?)\s*$/m.exec(await readFile(dotGit, 'utf8'));
    if (m?.[1]) return resolve(path, m[1]);
  }
  const [head, objects] = await Promise.all([stat(join(path, 'HEAD')).catch(() => undefined), stat(join(path, 'objects')).catch(() => undefined)]);
  if (head?.isFile() && objects?.isDirectory()) return path; // bare
  try {
    return join(await findRoot({ fs, filepath: path }), '.git'); // a folder inside a clone
  } catch {
    return undefined;
  }
}

// ---- remotes ------------------------------------------------------------------------------

interface RemoteLocation {
  /** The URL without credentials: what is stored, hashed and printed. */
  readonly url: string;
  readonly headers: Record<string, string>;
}

/** Credentials in the URL win over the environment; either way they only reach a header. */
export function remoteLocation(spec: string, env: Env): RemoteLocation {
  let parsed: URL;
  try {
    parsed = new URL(spec);
  } catch {
    throw usageError(`not a valid URL: ${redactUrl(spec)}`);
  }
  const username = decodeURIComponent(parsed.username) || env.KUBESCRIBE_GIT_USERNAME || '';
  const password = decodeURIComponent(parsed.password) || env.KUBESCRIBE_GIT_PASSWORD || '';
  parsed.username = '';
  parsed.password = '';
  const headers: Record<string, string> = {};
  if (username !== '' || password !== '') {
    headers.Authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }
  return { url: parsed.toString(), headers };
}


/** `$XDG_CACHE_HOME/kubescribe/repos/<hash>`, `~/.cache/...` when unset; keyed by the URL without credentials. */
export function cacheDirFor(url: string, env: Env, home: string): string {
  const root = env.XDG_CACHE_HOME || join(home, '.cache');
  const key = createHash('sha256').update(url).digest('hex').slice(0, 24);
  return join(root, 'kubescribe', 'repos', key);
}

async function openRemote(spec: string, options: RepoSourceOptions): Promise<AuditRepo> {
  const location = remoteLocation(spec, options.env);
  const label = location.url;
  const gitdir = cacheDirFor(location.url, options.env, options.home);
  const cached = await stat(join(gitdir, 'HEAD')).catch(() => undefined);

  let defaultBranch: string | null;
  if (cached) {
    options.progress?.(`fetching ${label}\n`);
    defaultBranch = await fetchAll(gitdir, location, spec, options.env);
  } else {
    // Clone into a private folder and move it into place, so that a failed or concurrent first
    // run never leaves a half-made cache behind for the next one.
    const staging = `${gitdir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    options.progress?.(`cloning ${label} into ${gitdir}\n`);
    await mkdir(dirname(gitdir), { recursive: true });
    try {
      await init({ fs, gitdir: staging, bare: true });
      await addRemote({ fs, gitdir: staging, remote: REMOTE, url: location.url });
      defaultBranch = await fetchAll(staging, location, spec, options.env);
      await rename(staging, gitdir).catch(async (err: unknown) => {
        if (!(await stat(join(gitdir, 'HEAD')).catch(() => undefined))) throw err; // someone else won the race: use theirs
      });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  const branch = options.branch ?? defaultBranch?.replace(/^refs\/heads\//, '');
  if (branch === undefined) throw new CliError(`the repository at ${label} has no branches yet`);
  const tip = await firstResolvable(gitdir, [`refs/remotes/${REMOTE}/${branch}`]);
  if (tip === undefined) throw await unknownBranch(branch, label, gitdir, REMOTE);
  return { gitdir, tip, branch, label };
}

async function fetchAll(gitdir: string, location: RemoteLocation, spec: string, env: Env): Promise<string | null> {
  try {
    const result = await fetch({ fs, http, gitdir, remote: REMOTE, url: location.url, headers: location.headers, singleBranch: false, tags: false, prune: true });
    return result.defaultBranch;
  } catch (err) {
    throw remoteError(err, location.url, secretsOf(spec, env));
  }
}

function secretsOf(spec: string, env: Env): string[] {
  const secrets = [env.KUBESCRIBE_GIT_PASSWORD ?? ''];
  try {
    const u = new URL(spec);
    secrets.push(decodeURIComponent(u.password), u.password);
    if (u.password === '') secrets.push(decodeURIComponent(u.username), u.username); // a token given as the user name
  } catch {
    // not a URL: nothing to hide
  }
  return secrets.filter((s) => s.length >= 3);
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** Messages are built here from codes and status numbers, never from the URL the user typed. */
function remoteError(err: unknown, label: string, secrets: readonly string[]): CliError {
  const e = (err ?? {}) as { code?: unknown; message?: unknown; data?: { statusCode?: unknown } };
  const code = typeof e.code === 'string' ? e.code : '';
  const credentialsHint = 'give credentials in the URL (https://user:token@host/repo.git) or in KUBESCRIBE_GIT_USERNAME / KUBESCRIBE_GIT_PASSWORD';
  if (code === 'HttpError') {
    const status = Number(e.data?.statusCode);
    if (status === 401 || status === 403) {
      return new CliError(`authentication failed for ${label} (HTTP ${status})`, { code: 'KUBESCRIBE_ERR_GIT_AUTH', hint: credentialsHint, cause: err });
    }
    if (status === 404) return new CliError(`no Git repository at ${label} (HTTP 404)`, { code: 'KUBESCRIBE_ERR_GIT_UNREACHABLE', cause: err });
    return new CliError(`${label} answered HTTP ${status}`, { code: 'KUBESCRIBE_ERR_GIT_UNREACHABLE', cause: err });
  }
  if (code === 'UserCanceledError') return new CliError(`authentication failed for ${label}`, { code: 'KUBESCRIBE_ERR_GIT_AUTH', hint: credentialsHint, cause: err });
  if (code === 'SmartHttpError') return new CliError(`${label} is not a Git smart-HTTP endpoint`, { code: 'KUBESCRIBE_ERR_GIT_UNREACHABLE', cause: err });
  if (NETWORK_CODES.has(code) || code.startsWith('CERT_') || code.startsWith('ERR_TLS') || code.includes('CERT')) {
    return new CliError(`cannot reach ${label} (${code})`, { code: 'KUBESCRIBE_ERR_GIT_UNREACHABLE', cause: err });
  }
  let detail = redactUrl(typeof e.message === 'string' ? e.message : String(err));
  for (const secret of secrets) detail = detail.split(secret).join('***');
  return new CliError(`cannot fetch ${label}: ${detail}`, { code: 'KUBESCRIBE_ERR_GIT_UNREACHABLE', cause: err });
}

// ---- branches -----------------------------------------------------------------------------

async function firstResolvable(gitdir: string, refs: readonly string[]): Promise<string | undefined> {
  for (const ref of refs) {
    try {
      return await resolveRef({ fs, gitdir, ref });
    } catch {
      // try the next spelling
    }
  }
  return undefined;
}

async function unknownBranch(branch: string, label: string, gitdir: string, remote: string | undefined): Promise<CliError> {
  const names = remote === undefined ? await listBranches({ fs, gitdir }) : await listBranches({ fs, gitdir, remote });
  const known = names.filter((n) => n !== 'HEAD');
  return new CliError(`branch "${branch}" not found in ${label}`, {
    hint: known.length > 0 ? `branches: ${known.sort().join(', ')}` : 'the repository has no branches yet',
  });
}
