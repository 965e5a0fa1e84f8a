// Brings the remote branch into the local store and returns its tip. The last known remote tip
// is offered as "have", so only new commits travel; a first fetch is shallow (depth 1): the
// writer needs the tip's tree, not the history.
import * as fs from 'node:fs';
import git from 'isomorphic-git';
import { toGitError } from './git-error.ts';
import { headSymrefClient } from './head-symref.ts';
import { httpClient } from './http-client.ts';
import { authHeaders, type Repo } from './repo.ts';
import { isSshUrl } from './ssh-url.ts';
import { sessionHttpClient, transportFor } from './transport.ts';

export async function fetchBranch(repo: Repo): Promise<string | undefined> {
  const tracking = `refs/remotes/origin/${repo.branch}`;
  const known = await repo.store.readRef(tracking);
  let tip: string | undefined;
  // isomorphic-git speaks HTTP only: over SSH it gets a client that tunnels the same requests
  // through an exec channel (transport.ts), and a placeholder URL that it never dials.
  const ssh = isSshUrl(repo.url) ? sessionHttpClient(transportFor(repo.url, repo.credentials())) : undefined;
  try {
    const res = await git.fetch({
      fs,
      http: headSymrefClient(ssh ?? httpClient, repo.branch), // a remote without HEAD: head-symref.ts
      gitdir: repo.dir,
      url: ssh ? 'http://ssh.invalid/repository.git' : repo.url,
      // `ref` only chooses the "have" we send: the last remote tip we know.
      ref: tracking,
      remoteRef: repo.branch,
      singleBranch: true,
      tags: false,
      depth: known ? undefined : 1,
      headers: authHeaders(repo),
      cache: repo.store.cache,
    });
    tip = res.fetchHead ?? undefined;
  } catch (err) {
    // A remote without this branch is not an error: the first push creates it.
    if ((err as { code?: string }).code !== 'NotFoundError') throw toGitError(err, repo.url, 'fetch');
  } finally {
    ssh?.close();
  }
  if (tip === undefined && known) await git.deleteRef({ fs, gitdir: repo.dir, ref: tracking });
  repo.remoteTip = tip;
  return tip;
}
