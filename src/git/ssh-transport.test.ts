// The SSH transport against a real SSH server (ssh2's, in process) running the real
// git-upload-pack / git-receive-pack: sessions share one connection, host keys fail closed.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitWriter } from './index.ts';
import { closeSshConnections } from './ssh-transport.ts';
import { silentLogger } from './testing/git-remote.ts';
import { transportFor } from './transport.ts';

const { Server, utils } = ssh2;

let server: InstanceType<typeof Server> | undefined;
let port = 0;
let connections = 0;
const logins = new Set<string>();
const hostKey = utils.generateKeyPairSync('ed25519');
const otherHostKey = utils.generateKeyPairSync('ed25519');
const clientKey = utils.generateKeyPairSync('ed25519');
const repo = join(mkdtempSync(join(tmpdir(), 'ssh-transport-')), 'r.git');

const knownHosts = (key: string): string => `[127.0.0.1]:${port} ${key.trim().split(' ').slice(0, 2).join(' ')}\n`;

beforeAll(async () => {
  execFileSync('git', ['init', '-q', '--bare', '--initial-branch=main', repo]);
  const work = mkdtempSync(join(tmpdir(), 'ssh-transport-work-'));
  execFileSync('sh', ['-c', 'git init -q -b main && echo a > a && git add a && git -c user.name=t -c user.email=t@x commit -qm one && git push -q "$1" main', 'sh', repo], { cwd: work });
  const allowed = utils.parseKey(clientKey.public);
  if (allowed instanceof Error) throw allowed;
  const listening = new Server({ hostKeys: [hostKey.private] }, (client) => {
    connections++;
    client.on('authentication', (ctx) => {
      if (ctx.method === 'publickey' && ctx.key.data.equals(allowed.getPublicSSH())) {
        logins.add(ctx.username);
        ctx.accept();
      }
      else ctx.reject(['publickey']);
    }).on('ready', () => {
      client.on('session', (accept) => {
        accept().on('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          const m = /^(git-upload-pack|git-receive-pack) '(.*)'$/.exec(info.command);
          if (!m || m[2] !== '/r.git') { stream.stderr.write('no such repository\n'); stream.exit(1); stream.end(); return; }
          const child = spawn('git', [m[1]!.slice(4), repo]);
          stream.pipe(child.stdin);
          child.stdout.pipe(stream, { end: false });
          child.stderr.pipe(stream.stderr);
          child.on('close', (code) => { stream.exit(code ?? 1); stream.end(); });
        });
      });
    }).on('error', () => undefined);
  });
  server = listening;
  await new Promise<void>((ok) => listening.listen(0, '127.0.0.1', ok));
  port = (listening.address() as AddressInfo).port;
});

afterAll(() => {
  closeSshConnections();
  // Undefined when beforeAll failed: its error, not this one, is the one to read.
  server?.close();
});

describe('SSH transport', () => {
  it('reuses one connection for the sessions that follow each other', async () => {
    const open = transportFor(`ssh://git@127.0.0.1:${port}/r.git`, { username: '', password: '', ssh: { privateKey: clientKey.private, knownHosts: knownHosts(hostKey.public) } });
    const before = connections;
    for (let i = 0; i < 3; i++) {
      const s = await open(i % 2 ? 'git-receive-pack' : 'git-upload-pack');
      expect(s.advertisement.toString('latin1')).toContain('refs/heads/main');
      s.close();
    }
    expect(connections - before).toBe(1);
  });

  it('fails closed on a changed or unknown host key, and reports a refused key', async () => {
    const url = `ssh://git@127.0.0.1:${port}/r.git`;
    const with_ = (knownHostsText: string, privateKey = clientKey.private) => transportFor(url, { username: '', password: '', ssh: { privateKey, knownHosts: knownHostsText } })('git-upload-pack');
    await expect(with_(knownHosts(otherHostKey.public))).rejects.toMatchObject({ code: 'KUBESCRIBE_ERR_GIT_HOST_KEY_MISMATCH' });
    await expect(with_('')).rejects.toMatchObject({ code: 'KUBESCRIBE_ERR_GIT_HOST_KEY_UNKNOWN' });
    await expect(with_(knownHosts(hostKey.public), utils.generateKeyPairSync('ed25519').private)).rejects.toMatchObject({ code: 'KUBESCRIBE_ERR_GIT_AUTH' });
  });

  it('names a repository the server does not have', async () => {
    const open = transportFor(`ssh://git@127.0.0.1:${port}/missing.git`, { username: '', password: '', ssh: { privateKey: clientKey.private, knownHosts: knownHosts(hostKey.public) } });
    await expect(open('git-upload-pack')).rejects.toMatchObject({ code: 'KUBESCRIBE_ERR_GIT_UNREACHABLE', message: expect.stringContaining('no such repository') });
  });

  it('a writer opens (fetch), pushes, and fetches and replays over SSH when the remote moved', async () => {
    const creds = { username: '', password: '', ssh: { privateKey: clientKey.private, knownHosts: knownHosts(hostKey.public) } };
    const w = await GitWriter.open({
      dir: join(mkdtempSync(join(tmpdir(), 'ssh-writer-')), 'clone'), url: `ssh://deploy@127.0.0.1:${port}/r.git`, branch: 'main',
      credentials: () => creds, committer: { name: 'kubescribe', email: 'k@example.com' }, pushIntervalMs: 3_600_000, logger: silentLogger,
    });
    try {
      expect(w.files().has('a')).toBe(true); // the remote's tip came over SSH
      expect(logins).toContain('deploy'); // the URL's login, not a default
      await w.commit({ changes: [{ path: 'x.yaml', content: 'x: 1\n' }], author: { name: 'alice', email: 'alice@example.com' }, message: 'ours one' });
      expect(await w.flush()).toMatchObject({ ok: true, pushedCommits: 1 });
      // Someone else pushes in between (straight into the bare repository).
      const work = mkdtempSync(join(tmpdir(), 'ssh-foreign-'));
      execFileSync('sh', ['-c', 'git clone -q "$1" . && echo b > b && git add b && git -c user.name=carol -c user.email=c@x commit -qm foreign && git push -q origin main', 'sh', repo], { cwd: work });
      await w.commit({ changes: [{ path: 'y.yaml', content: 'y: 1\n' }], author: { name: 'bob', email: 'bob@example.com' }, message: 'ours two' });
      expect(await w.flush()).toMatchObject({ ok: true, pushedCommits: 1 });
      expect(execFileSync('git', ['--git-dir', repo, 'log', '--format=%s|%an', 'main'], { encoding: 'utf8' }).trim().split('\n')).toEqual(['ours two|bob', 'foreign|carol', 'ours one|alice', 'one|t']);
      execFileSync('git', ['--git-dir', repo, 'fsck', '--strict']);
    } finally {
      await w.close();
    }
  });
});
