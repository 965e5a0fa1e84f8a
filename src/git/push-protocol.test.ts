// The push's answers from a Git server, each mapped to the right code and action (issue 14, item 5):
// a real `git http-backend` behind a proxy that limits request bodies, with receive.fsckObjects on;
// and a scripted server for the answers a healthy one does not give (ERR lines, a login page,
// "failed to update ref" after a lost race, a hook's refusal on side-band 2, a redirect).
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { configureGitTransport, GitWriter } from './index.ts';
import { ObjectStore } from './object-store.ts';
import { sendPack } from './send-pack.ts';
import { transportFor } from './transport.ts';
import type { PushResult } from './types.ts';
import { PASSWORD, silentLogger, startGitRemote, USER, type GitRemote } from './testing/git-remote.ts';

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

const pktLine = (s: string): string => `${(s.length + 4).toString(16).padStart(4, '0')}${s}`;
const band = (channel: number, s: string): Buffer => {
  const body = Buffer.concat([Buffer.from([channel]), Buffer.from(s)]);
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0')), body]);
};
const OLD = 'a'.repeat(40);
const NEW = 'b'.repeat(40);
const advertisement = (oid = OLD): string => `${pktLine('# service=git-receive-pack\n')}0000${pktLine(`${oid} refs/heads/main\0report-status side-band-64k\n`)}0000`;

describe('push protocol answers', () => {
  const servers: Server[] = [];
  let remote: GitRemote | undefined;
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    await remote?.stop();
    remote = undefined;
  });

  /** A scripted receive-pack: `adv` for GET info/refs, `report` for the POST. */
  async function scripted(o: { adv?: (res: ServerResponse) => void; report?: Buffer; posts?: string[] }): Promise<string> {
    const { server, url } = await listen((req, res) => {
      if (req.method === 'GET') {
        if (o.adv) return o.adv(res);
        res.writeHead(200, { 'content-type': 'application/x-git-receive-pack-advertisement' }).end(advertisement());
        return;
      }
      o.posts?.push(req.url ?? '');
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-git-receive-pack-result' }).end(o.report ?? Buffer.concat([band(1, pktLine('unpack ok\n') + pktLine('ok refs/heads/main\n') + '0000'), Buffer.from('0000')])));
    });
    servers.push(server);
    return `${url}/audit.git`;
  }
  const push = (url: string) => sendPack({ url, transport: transportFor(url, undefined), ref: 'refs/heads/main', old: OLD, new: NEW, pack: [Buffer.alloc(32)] });

  it('an ERR line in the advertisement is a refusal with the remote\'s words, never "branch absent"', async () => {
    const denied = await scripted({ adv: (res) => res.writeHead(200, { 'content-type': 'application/x-git-receive-pack-advertisement' }).end(pktLine('ERR access denied or repository not exported\n')) });
    await expect(push(denied)).rejects.toMatchObject({ code: 'KUBESCRIBE_ERR_GIT_AUTH', message: expect.stringContaining('access denied') });
    const archived = await scripted({ adv: (res) => res.writeHead(200, { 'content-type': 'application/x-git-receive-pack-advertisement' }).end(pktLine('ERR this repository is archived\n')) });
    await expect(push(archived)).rejects.toMatchObject({ code: 'KUBESCRIBE_ERR_GIT_REMOTE_ERROR', message: expect.stringContaining('archived') });
  });

  it('a login page (or any answer that is not a receive-pack advertisement) is not read as a repository', async () => {
    const page = await scripted({ adv: (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>Sign in</html>') });
    await expect(push(page)).rejects.toMatchObject({ code: 'KUBESCRIBE_ERR_GIT_UNREACHABLE', message: expect.stringContaining('not a Git smart HTTP remote') });
  });

  it('"failed to update ref" after a lost race means fetch and replay; a hook\'s refusal is quoted', async () => {
    const raced = await scripted({ report: Buffer.concat([band(1, pktLine('unpack ok\n') + pktLine('ng refs/heads/main failed to update ref\n') + '0000'), Buffer.from('0000')]) });
    expect(await push(raced)).toEqual({ status: 'behind', remoteOid: OLD });
    const hooked = await scripted({ report: Buffer.concat([band(2, 'remote: commits must be signed\n'), band(1, pktLine('unpack ok\n') + pktLine('ng refs/heads/main pre-receive hook declined\n') + '0000'), Buffer.from('0000')]) });
    await expect(push(hooked)).rejects.toMatchObject({ code: 'KUBESCRIBE_ERR_GIT_PUSH_REJECTED', message: expect.stringMatching(/pre-receive hook declined.*commits must be signed/) });
  });

  it('follows a redirect of the advertisement with the POST', async () => {
    const posts: string[] = [];
    const moved = await scripted({ posts });
    const { server, url } = await listen((req, res) => res.writeHead(301, { location: `${moved.replace(/\/audit\.git$/, '/moved.git')}${req.url!.replace(/^\/old\.git/, '')}` }).end());
    servers.push(server);
    expect(await push(`${url}/old.git`)).toEqual({ status: 'ok' });
    expect(posts).toEqual(['/moved.git/git-receive-pack']);
  });

  it('2,000 commits after an outage, behind a proxy that refuses bodies over 1 MiB: all pushed in rounds, fsckObjects accepts every pack', async () => {
    remote = await startGitRemote();
    await remote.git(['--git-dir', `${remote.tmp}/srv/audit.git`, 'config', 'receive.fsckObjects', 'true']);
    const LIMIT = 1024 * 1024;
    const bodies: Array<{ bytes: number; status: number }> = [];
    const upstream = new URL(remote.url);
    const { server, url } = await listen((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.method === 'POST' && body.length > LIMIT) {
          bodies.push({ bytes: body.length, status: 413 });
          res.writeHead(413).end('Request Entity Too Large');
          return;
        }
        if (req.method === 'POST' && req.url?.endsWith('git-receive-pack')) bodies.push({ bytes: body.length, status: 200 });
        const fwd = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        });
        fwd.end(body);
      });
    });
    servers.push(server);
    const w = await GitWriter.open({ dir: `${remote.tmp}/clone`, url: url + upstream.pathname, branch: 'main', credentials: () => ({ username: USER, password: PASSWORD }), committer: { name: 'kubescribe', email: 'k@x' }, pushIntervalMs: 3_600_000, pushMaxCommits: 1_000_000, logger: silentLogger });
    try {
      for (let i = 0; i < 2000; i++) {
        await w.commit({ changes: [{ path: `ns/core/configmaps/cm-${i % 400}.yaml`, content: `i: ${i}\nnoise: ${randomBytes(600).toString('hex')}\n` }], author: { name: ['alice', 'bob', 'carol'][i % 3]!, email: 'u@x' }, message: `UPDATE v1 configmaps ns/cm-${i % 400}\n` });
      }
      const r = await w.flush();
      expect(r).toMatchObject({ ok: true, pushedCommits: 2000 });
    } finally {
      await w.close();
    }
    expect(Number((await remote.git(['--git-dir', `${remote.tmp}/srv/audit.git`, 'rev-list', '--count', 'main'])).trim())).toBe(2000);
    await remote.git(['--git-dir', `${remote.tmp}/srv/audit.git`, 'fsck', '--strict']);
    const accepted = bodies.filter((b) => b.status === 200);
    expect(bodies.some((b) => b.status === 413)).toBe(true); // the default round was too large for this proxy...
    expect(accepted.length).toBeGreaterThan(1); // ...so it went in several smaller ones
    expect(Math.max(...accepted.map((b) => b.bytes))).toBeLessThanOrEqual(LIMIT);
    process.stdout.write(`[push-rounds] ${bodies.filter((b) => b.status === 413).length} refused, ${accepted.length} accepted rounds, largest ${Math.max(...accepted.map((b) => b.bytes))} bytes\n`);
  });

  /** A proxy in front of `remote` that records each push body and can add a capability to the advertisement. */
  async function recordingProxy(r: GitRemote, addCap?: string): Promise<{ url: string; pushes: number[] }> {
    const upstream = new URL(r.url);
    const pushes: number[] = [];
    const { server, url } = await listen((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.method === 'POST' && req.url?.endsWith('git-receive-pack')) pushes.push(body.length);
        const fwd = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } }, (up) => {
          const answer: Buffer[] = [];
          up.on('data', (c: Buffer) => answer.push(c));
          up.on('end', () => {
            let out: Buffer = Buffer.concat(answer);
            if (addCap && req.url?.includes('info/refs?service=git-receive-pack')) out = withCapability(out, addCap);
            const { 'content-length': _, 'transfer-encoding': __, ...headers } = up.headers;
            res.writeHead(up.statusCode ?? 502, { ...headers, 'content-length': out.length }).end(out);
          });
        });
        fwd.end(body);
      });
    });
    servers.push(server);
    return { url: url + upstream.pathname, pushes };
  }

  /** The advertisement with `cap` added to the capabilities of its first ref line. */
  function withCapability(adv: Buffer, cap: string): Buffer {
    const out: Buffer[] = [];
    for (let at = 0; at < adv.length;) {
      const len = parseInt(adv.subarray(at, at + 4).toString('latin1'), 16);
      if (len === 0) {
        out.push(adv.subarray(at, at + 4));
        at += 4;
        continue;
      }
      let line = adv.subarray(at + 4, at + len).toString('latin1');
      if (line.includes('\0')) line = line.replace(/\n?$/, ` ${cap}\n`);
      out.push(Buffer.from(pktLine(line), 'latin1'));
      at += len;
    }
    return Buffer.concat(out);
  }

  // A burst of creates into one folder of thousands: each push sends the folder's new version as a
  // delta of the one the remote has (a thin pack, as `git push` sends), not the whole folder again.
  it.each([
    { remoteSays: 'nothing', thin: true },
    { remoteSays: 'no-thin', thin: false },
  ])('a big folder\'s next version goes as a delta of what the remote has; the remote says $remoteSays', async ({ remoteSays, thin }) => {
    remote = await startGitRemote();
    const gitDir = `${remote.tmp}/srv/audit.git`;
    await remote.git(['--git-dir', gitDir, 'config', 'receive.fsckObjects', 'true']);
    const proxy = await recordingProxy(remote, thin ? undefined : remoteSays);
    const w = await GitWriter.open({ dir: `${remote.tmp}/clone`, url: proxy.url, branch: 'main', credentials: () => ({ username: USER, password: PASSWORD }), committer: { name: 'kubescribe', email: 'k@x' }, pushIntervalMs: 3_600_000, pushMaxCommits: 1_000_000, logger: silentLogger });
    const file = (i: number) => ({ path: `ns/core/configmaps/cm-${i}.yaml`, content: `i: ${i}\n` });
    const pushed: number[] = [];
    const flush = async (): Promise<PushResult> => {
      const r = await w.flush();
      pushed.push(r.pushedBytes ?? 0);
      return r;
    };
    try {
      await w.commit({ changes: Array.from({ length: 3000 }, (_, i) => file(i)), author: { name: 'alice', email: 'a@x' }, message: 'RECONCILE\n' });
      expect(await flush()).toMatchObject({ ok: true, pushedCommits: 1 });
      for (let round = 0; round < 4; round++) {
        for (let k = 0; k < 3; k++) {
          const i = 3000 + round * 3 + k;
          await w.commit({ changes: [file(i)], author: { name: 'bob', email: 'b@x' }, message: `CREATE v1 configmaps ns/cm-${i}\n` });
        }
        expect(await flush()).toMatchObject({ ok: true, pushedCommits: 3 });
      }
      // The folder changed and back in one push: its version the remote has is in the pack too, after the change.
      await w.commit({ changes: [{ path: file(3011).path, content: 'changed\n' }], author: { name: 'carol', email: 'c@x' }, message: 'UPDATE v1 configmaps ns/cm-3011\n' });
      await w.commit({ changes: [file(3011)], author: { name: 'carol', email: 'c@x' }, message: 'UPDATE v1 configmaps ns/cm-3011\n' });
      expect(await flush()).toMatchObject({ ok: true, pushedCommits: 2 });
    } finally {
      await w.close();
    }
    await remote.git(['--git-dir', gitDir, 'fsck', '--strict']);
    expect(Number((await remote.git(['--git-dir', gitDir, 'rev-list', '--count', 'main'])).trim())).toBe(15);
    expect((await remote.git(['--git-dir', gitDir, 'ls-tree', '-r', '--name-only', 'main'])).trim().split('\n')).toHaveLength(3012);
    // The folder of 3,000 files is ~135 KB as a tree: whole, it is in every push; as a delta, in none after the first.
    const folder = (await remote.git(['--git-dir', gitDir, 'cat-file', '-s', 'main:ns/core/configmaps'])).trim();
    const [first, ...rest] = proxy.pushes.slice(0, 5);
    expect(proxy.pushes).toHaveLength(6);
    expect(first).toBeGreaterThan(Number(folder) / 2);
    if (thin) expect(Math.max(...rest)).toBeLessThan(8 * 1024);
    else expect(Math.min(...rest)).toBeGreaterThan(Number(folder) / 2);
    // What kubescribe_pushed_bytes_total counts: each body's pack, without the ref update's command.
    expect(pushed).toHaveLength(6);
    for (const [n, body] of proxy.pushes.entries()) {
      expect(body - pushed[n]!).toBeGreaterThan(0);
      expect(body - pushed[n]!).toBeLessThan(300);
    }
    process.stdout.write(`[thin-pack] remote says ${remoteSays}: folder ${folder} bytes; push bodies ${proxy.pushes.join(', ')} bytes\n`);
  });

  it('a push whose thin pack cannot be built goes whole instead of failing at every try', async () => {
    remote = await startGitRemote();
    const gitDir = `${remote.tmp}/srv/audit.git`;
    const proxy = await recordingProxy(remote);
    const w = await GitWriter.open({ dir: `${remote.tmp}/clone`, url: proxy.url, branch: 'main', credentials: () => ({ username: USER, password: PASSWORD }), committer: { name: 'kubescribe', email: 'k@x' }, pushIntervalMs: 3_600_000, pushMaxCommits: 1_000_000, logger: silentLogger });
    const file = (i: number) => ({ path: `ns/core/configmaps/cm-${i}.yaml`, content: `i: ${i}\n` });
    const real = ObjectStore.prototype.packObjects;
    const thinFails = vi.spyOn(ObjectStore.prototype, 'packObjects').mockImplementation(function (this: ObjectStore, oids, remoteHas) {
      if (remoteHas) throw new Error('a bug in thin packing');
      return real.call(this, oids);
    });
    try {
      await w.commit({ changes: Array.from({ length: 3000 }, (_, i) => file(i)), author: { name: 'alice', email: 'a@x' }, message: 'RECONCILE\n' });
      expect(await w.flush()).toMatchObject({ ok: true, pushedCommits: 1 });
      await w.commit({ changes: [file(3000)], author: { name: 'bob', email: 'b@x' }, message: 'CREATE v1 configmaps ns/cm-3000\n' });
      expect(await w.flush()).toMatchObject({ ok: true, pushedCommits: 1 });
      expect(thinFails.mock.calls.some(([, remoteHas]) => remoteHas !== undefined)).toBe(true);
    } finally {
      thinFails.mockRestore();
      await w.close();
    }
    expect(proxy.pushes[1]).toBeGreaterThan(50_000); // whole
    await remote.git(['--git-dir', gitDir, 'fsck', '--strict']);
    expect((await remote.git(['--git-dir', gitDir, 'log', '--format=%an', 'main'])).trim().split('\n')).toEqual(['bob', 'alice']);
  });

  it('reaches the remote through the configured HTTP proxy (gitTransport.proxyUrl), fetch and push', async () => {
    remote = await startGitRemote();
    const seen: string[] = [];
    const { server, url: proxyUrl } = await listen((req, res) => {
      // Absolute-form requests (a plain HTTP proxy)
      seen.push(`${req.method} ${req.url}`);
      const target = new URL(req.url!);
      const fwd = request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      req.pipe(fwd);
    });
    server.on('connect', (req: IncomingMessage, socket: import('node:net').Socket, head: Buffer) => {
      seen.push(`CONNECT ${req.url}`);
      const [host, port] = (req.url ?? '').split(':');
      const up = connect(Number(port), host!, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        up.write(head);
        up.pipe(socket);
        socket.pipe(up);
      });
      up.on('error', () => socket.destroy());
      socket.on('error', () => up.destroy());
    });
    servers.push(server);
    configureGitTransport({ proxyUrl });
    try {
      const w = await GitWriter.open({ dir: `${remote.tmp}/clone`, url: remote.url, branch: 'main', credentials: () => ({ username: USER, password: PASSWORD }), committer: { name: 'kubescribe', email: 'k@x' }, pushIntervalMs: 3_600_000, logger: silentLogger });
      await w.commit({ changes: [{ path: 'a.yaml', content: 'a: 1\n' }], author: { name: 'alice', email: 'a@x' }, message: 'CREATE a\n' });
      expect((await w.flush()).ok).toBe(true);
      await w.close();
    } finally {
      configureGitTransport({});
    }
    expect(seen.length).toBeGreaterThan(0);
    expect((await remote.git(['--git-dir', `${remote.tmp}/srv/audit.git`, 'log', '--format=%an', 'main'])).trim()).toBe('alice');
    // noProxy exempts a host.
    configureGitTransport({ proxyUrl, noProxy: ['127.0.0.1'] });
    const before = seen.length;
    try {
      const w = await GitWriter.open({ dir: `${remote.tmp}/clone2`, url: remote.url, branch: 'main', credentials: () => ({ username: USER, password: PASSWORD }), committer: { name: 'kubescribe', email: 'k@x' }, pushIntervalMs: 3_600_000, logger: silentLogger });
      await w.close();
    } finally {
      configureGitTransport({});
    }
    expect(seen.length).toBe(before);
  });
});
