// Host key verification against an OpenSSH known_hosts text, failing closed: a host without an
// entry is "unknown", a host whose entries all differ from the presented key (or whose key is
// marked @revoked) is "mismatch". Understands `[host]:port`, comma lists, `*`/`?` wildcards,
// `!` negation and hashed names (`|1|salt|hmac`). @cert-authority lines are not supported (skipped).
import { createHmac } from 'node:crypto';

export type HostKeyVerdict = 'ok' | 'unknown' | 'mismatch';

interface Entry { patterns: string[]; type: string; key: string; revoked: boolean }

function parse(text: string): Entry[] {
  const out: Entry[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let revoked = false;
    if (fields[0]?.startsWith('@')) {
      const marker = fields.shift();
      if (marker === '@cert-authority') continue;
      revoked = marker === '@revoked';
    }
    const [hosts, type, key] = fields;
    if (!hosts || !type || !key) continue;
    out.push({ patterns: hosts.split(','), type, key, revoked });
  }
  return out;
}

function glob(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(name);
}

function hostMatches(patterns: string[], name: string): boolean {
  let matched = false;
  for (const p of patterns) {
    if (p.startsWith('|1|')) {
      const [, , salt, hash] = p.split('|');
      if (salt && hash && createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash) matched = true;
      continue;
    }
    const negated = p.startsWith('!');
    if (glob(negated ? p.slice(1) : p, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** How OpenSSH names a host in known_hosts: bare on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export class KnownHosts {
  private readonly entries: Entry[];

  constructor(text: string) {
    this.entries = parse(text);
  }

  /** The key types known for the host (to offer only those in the key exchange, as OpenSSH does). */
  keyTypes(host: string, port: number): string[] {
    const name = knownHostsName(host, port);
    return [...new Set(this.entries.filter((e) => !e.revoked && hostMatches(e.patterns, name)).map((e) => e.type))];
  }

  /** Checks a presented host key (the SSH wire blob). */
  verify(host: string, port: number, key: Buffer): HostKeyVerdict {
    const name = knownHostsName(host, port);
    const b64 = key.toString('base64');
    if (this.entries.some((e) => e.revoked && e.key === b64)) return 'mismatch';
    const forHost = this.entries.filter((e) => !e.revoked && hostMatches(e.patterns, name));
    if (forHost.length === 0) return 'unknown';
    return forHost.some((e) => e.key === b64) ? 'ok' : 'mismatch';
  }
}
