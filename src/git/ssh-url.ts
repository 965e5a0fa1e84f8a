// Git's two spellings of an SSH remote: `ssh://[user@]host[:port]/path` and the scp-like
// `[user@]host:path` (a path relative to the login's home). Parsed once, in one place.

export interface SshTarget { user: string; host: string; port: number; path: string }

const SCP_LIKE = /^(?:([^@/:\s]+)@)?(\[[^\]]+\]|[^:/\s]+):(?!\/\/)([^\s]+)$/;

export function isSshUrl(url: string): boolean {
  return url.startsWith('ssh://') || url.startsWith('git+ssh://') || (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && SCP_LIKE.test(url));
}

/** The login, host, port and repository path of an SSH remote, or undefined when url is not one. */
export function parseSshUrl(url: string): SshTarget | undefined {
  if (url.startsWith('ssh://') || url.startsWith('git+ssh://')) {
    let u: URL;
    try {
      u = new URL(url.replace(/^git\+ssh:/, 'ssh:'));
    } catch {
      return undefined;
    }
    if (!u.hostname || u.pathname.length < 2) return undefined;
    let path = decodeURIComponent(u.pathname);
    // Like git: ssh://host/~user/repo means ~user/repo, not /~user/repo.
    if (path.startsWith('/~')) path = path.slice(1);
    return { user: decodeURIComponent(u.username) || 'git', host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : 22, path };
  }
  if (!isSshUrl(url)) return undefined;
  const m = SCP_LIKE.exec(url);
  if (!m) return undefined;
  return { user: m[1] ?? 'git', host: m[2]!.replace(/^\[|\]$/g, ''), port: 22, path: m[3]! };
}
