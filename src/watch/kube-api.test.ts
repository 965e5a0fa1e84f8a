import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import { createKubeApi, retryAfterMs } from './kube-api.ts';
import type { KubeConnection } from './kube-config.ts';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<KubeConnection> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { server: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, source: 'test', apply: async () => undefined, createAgent: (o) => new Agent(o) };
}

describe('kube api client', () => {
  it('cuts a request that gets no answer at its deadline, with a code of its own', async () => {
    const conn = await serve(() => { /* never answers */ });
    const api = createKubeApi(conn, { requestTimeoutMs: 300 });
    const t = Date.now();
    await expect(api.getJson('/api/v1/namespaces')).rejects.toMatchObject({ code: 'KUBESCRIBE_ERR_KUBE_TIMEOUT' });
    expect(Date.now() - t).toBeLessThan(2000);
  });

  it('honours a 429 Retry-After, then succeeds', async () => {
    const at: number[] = [];
    const conn = await serve((_req, res) => {
      at.push(Date.now());
      if (at.length === 1) res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' }).end('{"kind":"Status","reason":"TooManyRequests"}');
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    const api = createKubeApi(conn);
    await expect(api.getJson('/x')).resolves.toEqual({ ok: true });
    expect(at).toHaveLength(2);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(950);
  });

  it('gives up after its 429 retries, and reads Retry-After as seconds or a date', async () => {
    const conn = await serve((_req, res) => { res.writeHead(429, { 'retry-after': '0' }).end('{}'); });
    await expect(createKubeApi(conn, { maxRetries429: 2 }).getJson('/x')).rejects.toMatchObject({ status: 429, retryAfterMs: 0 });
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 5_000)).toBe(5000);
    expect(retryAfterMs(undefined)).toBe(1000);
  });

  it('cuts a watch that delivers nothing within its idle bound (half-open), but not one that sends bookmarks', async () => {
    const conn = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url?.includes('bookmarks')) {
        const t = setInterval(() => res.write('{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"1"}}}\n'), 100);
        setTimeout(() => { clearInterval(t); res.end(); }, 1000);
      } else {
        res.write('{"type":"ADDED","object":{}}\n'); // then silence, the connection kept open
      }
    });
    const api = createKubeApi(conn, { watchIdleMs: 400 });
    const lines: string[] = [];
    const t = Date.now();
    await expect((async () => { for await (const l of api.streamLines('/w', new AbortController().signal)) lines.push(l); })()).rejects.toMatchObject({ code: 'KUBESCRIBE_ERR_KUBE_WATCH_SILENT' });
    expect(lines).toHaveLength(1);
    expect(Date.now() - t).toBeLessThan(1500);
    let bookmarks = 0;
    for await (const l of api.streamLines('/w?bookmarks', new AbortController().signal)) if (l.includes('BOOKMARK')) bookmarks++;
    expect(bookmarks).toBeGreaterThan(5); // 1 s of stream with a 400 ms bound: never cut
  });

  it('a slow consumer is not silence: the idle bound only runs while we wait for the server', async () => {
    const conn = await serve((_req, res) => {
      res.writeHead(200);
      res.write('{"n":1}\n{"n":2}\n');
      setTimeout(() => res.end('{"n":3}\n'), 200);
    });
    const api = createKubeApi(conn, { watchIdleMs: 300 });
    const got: string[] = [];
    for await (const l of api.streamLines('/w', new AbortController().signal)) {
      got.push(l);
      await new Promise((r) => setTimeout(r, 500)); // a full queue
    }
    expect(got).toHaveLength(3);
  });

  it('watches never block other requests: 100 open watches, and a short request still answers at once', async () => {
    const conn = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url?.startsWith('/watch')) res.write('{"type":"BOOKMARK","object":{}}\n'); // held open
      else res.end('{"ok":true}');
    });
    const api = createKubeApi(conn, { watchIdleMs: 60_000 });
    const stop = new AbortController();
    const open: Array<Promise<void>> = [];
    let started = 0;
    for (let i = 0; i < 100; i++) {
      open.push((async () => {
        try { for await (const _ of api.streamLines(`/watch/${i}`, stop.signal)) { started++; void _; } } catch { /* aborted */ }
      })());
    }
    await expect.poll(() => started, { timeout: 5000 }).toBe(100);
    const t = performance.now();
    await expect(api.getJson('/lease', { lane: 'lease' })).resolves.toEqual({ ok: true });
    await expect(api.getJson('/status')).resolves.toEqual({ ok: true });
    const ms = performance.now() - t;
    console.log(`[kube-api] with 100 open watches, a lease GET and a status GET took ${ms.toFixed(1)} ms`);
    expect(ms).toBeLessThan(500);
    stop.abort();
    await Promise.all(open);
  });
});

describe('kube api client through a kubeconfig proxy-url', () => {
  it('tunnels to an HTTPS API server through an HTTP CONNECT proxy, with the impersonation headers, as kubectl does', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { createServer: createHttpsServer } = await import('node:https');
    const { connect } = await import('node:net');
    const { loadKubeConnection } = await import('./kube-config.ts');
    const d = mkdtempSync(join(tmpdir(), 'kube-proxy-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(d, 'key.pem'), '-out', join(d, 'cert.pem')], { stdio: 'ignore' });
    const seen: Array<Record<string, unknown>> = [];
    const apiServer = createHttpsServer({ key: readFileSync(join(d, 'key.pem')), cert: readFileSync(join(d, 'cert.pem')) }, (req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"NamespaceList"}');
    });
    await new Promise<void>((r) => apiServer.listen(0, '127.0.0.1', r));
    const tunnels: string[] = [];
    const sockets: Array<{ destroy(): void }> = [];
    const proxy = createServer();
    proxy.on('connect', (req, client) => {
      tunnels.push(req.url ?? '');
      const [host = '', port = ''] = (req.url ?? '').split(':');
      sockets.push(client);
      const up = connect(Number(port), host, () => { client.write('HTTP/1.1 200 Connection Established\r\n\r\n'); up.pipe(client); client.pipe(up); });
      up.on('error', () => client.destroy());
      client.on('error', () => up.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const apiPort = (apiServer.address() as AddressInfo).port;
    const file = join(d, 'kubeconfig');
    writeFileSync(file, JSON.stringify({
      'current-context': 'c', contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
      clusters: [{ name: 'k', cluster: { server: `https://127.0.0.1:${apiPort}`, 'certificate-authority': 'cert.pem', 'proxy-url': `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` } }],
      users: [{ name: 'u', user: { token: 'tok', as: 'alice', 'as-groups': ['dev', 'ops'] } }],
    }));
    try {
      const api = createKubeApi(loadKubeConnection(file, { env: {} }));
      await expect(api.getJson('/api/v1/namespaces')).resolves.toEqual({ kind: 'NamespaceList' });
      expect(tunnels).toEqual([`127.0.0.1:${apiPort}`]);
      expect(seen[0]).toMatchObject({ authorization: 'Bearer tok', 'impersonate-user': 'alice', 'impersonate-group': 'dev, ops' });
    } finally {
      for (const sock of sockets) sock.destroy();
      apiServer.closeAllConnections();
      await new Promise((r) => apiServer.close(r));
      await new Promise((r) => proxy.close(r));
    }
  });
});
