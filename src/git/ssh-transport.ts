// The SSH side of transport.ts: `git-upload-pack '<path>'` / `git-receive-pack '<path>'` run
// in an exec channel (what `git` itself does over ssh), on a connection kept per (login, host,
// key) and reused across fetches and pushes, closed after a minute idle. Host keys are checked
// against the Secret's known_hosts before any authentication: unknown or changed keys fail closed.
import { createHash } from 'node:crypto';
import type { Client as SshClient, ClientChannel } from 'ssh2';
import { KubescribeError } from '../errors.ts';
import { redactUrl } from './git-error.ts';
import { REQUEST_TIMEOUT_MS } from './http-client.ts';
import { KnownHosts, knownHostsName } from './known-hosts.ts';
import type { SshTarget } from './ssh-url.ts';
import type { GitService, GitSession } from './transport.ts';
import type { SshCredentials } from './types.ts';

/** ssh2 is loaded on first use: a process without SSH remotes never pays for it. */
let ssh2: Promise<typeof import('ssh2')> | undefined;
async function loadSsh2(): Promise<typeof import('ssh2')> {
  ssh2 ??= import('ssh2').then((m) => ((m as { default?: typeof import('ssh2') }).default ?? m));
  return ssh2;
}

const CONNECT_TIMEOUT_MS = 20_000;
const IDLE_CLOSE_MS = 60_000;

/** Host key algorithms to offer for the key types known_hosts holds (RSA keys sign with SHA-2 first). */
function hostKeyAlgorithms(types: string[]): string[] {
  return types.flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]));
}

interface Pooled { client: Promise<SshClient>; idle?: NodeJS.Timeout; users: number }
const pool = new Map<string, Pooled>();

async function connect(target: SshTarget, url: string, creds: SshCredentials): Promise<SshClient> {
  const { Client, utils } = await loadSsh2();
  const where = redactUrl(url);
  const known = new KnownHosts(creds.knownHosts);
  const types = known.keyTypes(target.host, target.port);
  if (types.length === 0) {
    throw (new KubescribeError('KUBESCRIBE_ERR_GIT_HOST_KEY_UNKNOWN', `known_hosts has no key for ${knownHostsName(target.host, target.port)} (${where}); add the server's host key to the Secret's known_hosts`));
  }
  const parsed = utils.parseKey(creds.privateKey, creds.passphrase);
  if (parsed instanceof Error) {
    throw (new KubescribeError('KUBESCRIBE_ERR_GIT_AUTH', `the SSH private key for ${where} cannot be read (${parsed.message}${creds.passphrase ? '' : '; an encrypted key needs the password key'})`));
  }
  return new Promise<SshClient>((resolve, reject) => {
    const client = new Client();
    let verdict: 'ok' | 'unknown' | 'mismatch' | undefined;
    client.once('ready', () => resolve(client));
    client.once('error', (err: Error & { level?: string }) => {
      client.end();
      if (verdict === 'mismatch') reject(new KubescribeError('KUBESCRIBE_ERR_GIT_HOST_KEY_MISMATCH', `${knownHostsName(target.host, target.port)} presented a host key that known_hosts does not hold for it (${where}); nothing was sent`, { cause: err }));
      else if (verdict === 'unknown') reject(new KubescribeError('KUBESCRIBE_ERR_GIT_HOST_KEY_UNKNOWN', `known_hosts has no key for ${knownHostsName(target.host, target.port)} (${where})`, { cause: err }));
      else if (err.level === 'client-authentication') reject(new KubescribeError('KUBESCRIBE_ERR_GIT_AUTH', `Git remote ${where} refused the SSH key of user ${target.user}`, { cause: err }));
      else if (err.level === 'client-timeout') reject(new KubescribeError('KUBESCRIBE_ERR_GIT_UNREACHABLE', `Git remote ${where} did not complete the SSH handshake in ${CONNECT_TIMEOUT_MS / 1000} s`, { cause: err }));
      else reject(err);
    });
    client.connect({
      host: target.host,
      port: target.port,
      username: target.user,
      privateKey: creds.privateKey,
      ...(creds.passphrase ? { passphrase: creds.passphrase } : {}),
      readyTimeout: CONNECT_TIMEOUT_MS,
      keepaliveInterval: 15_000,
      algorithms: { serverHostKey: hostKeyAlgorithms(types) as never },
      hostVerifier: (key: Buffer) => {
        verdict = known.verify(target.host, target.port, key);
        return verdict === 'ok';
      },
    });
  });
}

function poolKey(target: SshTarget, creds: SshCredentials): string {
  const h = createHash('sha256').update(creds.privateKey).update('\0').update(creds.passphrase ?? '').update('\0').update(creds.knownHosts).digest('hex');
  return `${target.user}@${target.host}:${target.port}#${h}`;
}

async function lease(target: SshTarget, url: string, creds: SshCredentials): Promise<{ client: SshClient; release: () => void }> {
  const key = poolKey(target, creds);
  let entry = pool.get(key);
  if (!entry) {
    const created: Pooled = { client: connect(target, url, creds), users: 0 };
    entry = created;
    pool.set(key, created);
    created.client.then((c) => {
      const drop = (): void => { if (pool.get(key) === created) pool.delete(key); };
      c.once('close', drop);
      c.on('error', drop);
    }, () => { if (pool.get(key) === created) pool.delete(key); });
  }
  const e = entry;
  clearTimeout(e.idle);
  e.users++;
  const client = await e.client;
  let released = false;
  return {
    client,
    release: () => {
      if (released) return;
      released = true;
      if (--e.users > 0) return;
      e.idle = setTimeout(() => {
        if (pool.get(key) === e) pool.delete(key);
        client.end();
      }, IDLE_CLOSE_MS);
      e.idle.unref();
    },
  };
}

/** Closes every pooled connection (tests, shutdown). */
export function closeSshConnections(): void {
  for (const [key, e] of pool) {
    pool.delete(key);
    clearTimeout(e.idle);
    e.client.then((c) => c.end(), () => undefined);
  }
}

function quote(path: string): string {
  return `'${path.replace(/'/g, `'\\''`)}'`;
}

/** Offset just past the flush packet that ends a ref advertisement, or -1 while it is incomplete. */
function advertisementEnd(buf: Buffer): number {
  let at = 0;
  while (at + 4 <= buf.length) {
    const len = parseInt(buf.toString('latin1', at, at + 4), 16);
    if (Number.isNaN(len)) throw new Error('malformed pkt-line in the ref advertisement');
    if (len === 0) return at + 4;
    if (len < 4) { at += 4; continue; }
    if (at + len > buf.length) return -1;
    at += len;
  }
  return -1;
}

function exec(client: SshClient, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => client.exec(command, (err, ch) => (err ? reject(err) : resolve(ch))));
}

export async function openSshSession(target: SshTarget, url: string, creds: SshCredentials | undefined, service: GitService): Promise<GitSession> {
  const where = redactUrl(url);
  const action = service === 'git-receive-pack' ? 'push' : 'fetch';
  if (!creds) throw new KubescribeError('KUBESCRIBE_ERR_GIT_AUTH', `${where} is an SSH remote but its Secret holds no SSH key (identity or sshPrivateKey)`);
  let conn: Awaited<ReturnType<typeof lease>>;
  try {
    conn = await lease(target, url, creds);
  } catch (err) {
    if (err instanceof KubescribeError) throw err;
    throw Object.assign(err as Error, { message: `SSH connection to ${where}: ${(err as Error).message}` });
  }
  let channel: ClientChannel;
  try {
    channel = await exec(conn.client, `${service} ${quote(target.path)}`);
  } catch (err) {
    conn.release();
    throw new KubescribeError('KUBESCRIBE_ERR_GIT_UNREACHABLE', `Git remote ${where} would not start ${service}: ${(err as Error).message}`, { cause: err });
  }

  let out = Buffer.alloc(0);
  let stderr = '';
  let closed = false;
  let wake: (() => void) | undefined;
  channel.on('data', (d: Buffer) => { out = Buffer.concat([out, d]); wake?.(); });
  channel.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString('utf8')).slice(-2000); });
  channel.on('close', () => { closed = true; conn.release(); wake?.(); });

  const failure = (what: string): KubescribeError => {
    const text = stderr.trim().split('\n').pop() ?? '';
    const code = /permission denied|access denied|not allowed/i.test(text) ? 'KUBESCRIBE_ERR_GIT_AUTH' : 'KUBESCRIBE_ERR_GIT_UNREACHABLE';
    return new KubescribeError(code, `Git remote ${where} ${what} during ${action}${text ? `: ${text}` : ''}`);
  };
  /** Waits until done() holds or the channel closes, within the request deadline. */
  const until = (done: () => boolean): Promise<void> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      wake = undefined;
      channel.close();
      reject(Object.assign(new Error(`no answer in ${REQUEST_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' }));
    }, REQUEST_TIMEOUT_MS);
    wake = () => {
      if (!done() && !closed) return;
      clearTimeout(timer);
      wake = undefined;
      resolve();
    };
    wake();
  });

  let end = -1;
  try {
    await until(() => (end = advertisementEnd(out)) >= 0);
  } catch (err) {
    channel.close();
    throw err;
  }
  if (end < 0) throw failure('ended the session before advertising its refs');
  const advertisement = out.subarray(0, end);
  out = out.subarray(end);
  let exchanged = false;
  return {
    advertisement,
    async exchange(body) {
      exchanged = true;
      channel.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
      await until(() => false);
      if (out.length === 0) throw failure('sent no answer');
      return out;
    },
    close() {
      if (closed) return;
      // A flush tells upload-pack/receive-pack that we want nothing; they exit cleanly.
      if (!exchanged) channel.end(Buffer.from('0000'));
      else channel.close();
    },
  };
}
