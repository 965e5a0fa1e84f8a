import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadKubeConnection } from './kube-config.ts';

function dir(): string {
  return mkdtempSync(join(tmpdir(), 'kube-config-'));
}

function kubeconfig(d: string, file: string, body: Record<string, unknown>): string {
  const p = join(d, file);
  writeFileSync(p, JSON.stringify(body)); // JSON is YAML
  return p;
}

const config = (user: Record<string, unknown>, cluster: Record<string, unknown> = { server: 'https://api.example:6443/' }, name = 'dev') => ({
  apiVersion: 'v1', kind: 'Config', 'current-context': `${name}-ctx`,
  clusters: [{ name, cluster }], users: [{ name, user }], contexts: [{ name: `${name}-ctx`, context: { cluster: name, user: name } }],
});

async function applied(conn: { apply(o: RequestOptions): Promise<void> }): Promise<RequestOptions> {
  const opts: RequestOptions = { headers: { accept: 'application/json' } };
  await conn.apply(opts);
  return opts;
}

afterEach(() => { vi.useRealTimers(); });

describe('kube connection', () => {
  it('reads client certificates given as files relative to the kubeconfig, and the CA', async () => {
    const d = dir();
    mkdirSync(join(d, 'pki'));
    writeFileSync(join(d, 'pki', 'ca.crt'), 'CA');
    writeFileSync(join(d, 'pki', 'u.crt'), 'CERT');
    writeFileSync(join(d, 'pki', 'u.key'), 'KEY');
    const file = kubeconfig(d, 'config', config({ 'client-certificate': 'pki/u.crt', 'client-key': join(d, 'pki', 'u.key') }, { server: 'https://api.example:6443/', 'certificate-authority': 'pki/ca.crt' }));
    const conn = loadKubeConnection(file, { env: {} });
    expect(conn.server).toBe('https://api.example:6443');
    const o = await applied(conn);
    expect([String(o.ca), String(o.cert), String(o.key)]).toEqual(['CA', 'CERT', 'KEY']);
    expect(o.headers).toEqual({ accept: 'application/json' });
  });

  it('reads inline data, a bearer token, basic auth, tls-server-name and insecure-skip-tls-verify', async () => {
    const d = dir();
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const withData = await applied(loadKubeConnection(kubeconfig(d, 'a', config({ 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') }, { server: 'https://x', 'certificate-authority-data': b64('CA'), 'tls-server-name': 'kubernetes' })), { env: {} }));
    expect([String(withData.ca), String(withData.cert), String(withData.key), withData.servername]).toEqual(['CA', 'CERT', 'KEY', 'kubernetes']);
    const withToken = await applied(loadKubeConnection(kubeconfig(d, 'b', config({ token: 'abc' }, { server: 'https://x', 'insecure-skip-tls-verify': true })), { env: {} }));
    expect(withToken.headers).toMatchObject({ authorization: 'Bearer abc' });
    expect(withToken.rejectUnauthorized).toBe(false);
    const withBasic = await applied(loadKubeConnection(kubeconfig(d, 'c', config({ username: 'u', password: 'p' })), { env: {} }));
    expect(withBasic.headers).toMatchObject({ authorization: `Basic ${b64('u:p')}` });
  });

  it('merges $KUBECONFIG files, the first to name a context or set current-context winning', async () => {
    const d = dir();
    const first = kubeconfig(d, 'one', { 'current-context': 'b-ctx', clusters: [], users: [], contexts: [] });
    const second = kubeconfig(d, 'two', config({ token: 'from-b' }, { server: 'https://b' }, 'b'));
    const conn = loadKubeConnection(undefined, { env: { KUBECONFIG: `${first}:${join(d, 'missing')}:${second}` } });
    expect(conn.server).toBe('https://b');
    expect((await applied(conn)).headers).toMatchObject({ authorization: 'Bearer from-b' });
  });

  it('uses the in-cluster service account, re-reading the rotated token after a minute', async () => {
    const d = dir();
    writeFileSync(join(d, 'token'), 'token-1\n');
    writeFileSync(join(d, 'ca.crt'), 'CLUSTER-CA');
    vi.useFakeTimers({ now: 1_000_000 });
    const conn = loadKubeConnection(undefined, { env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, inClusterDir: d, home: dir() });
    expect(conn.server).toBe('https://[fd00::1]:443');
    const o = await applied(conn);
    expect([String(o.ca), o.headers]).toEqual(['CLUSTER-CA', { accept: 'application/json', authorization: 'Bearer token-1' }]);
    writeFileSync(join(d, 'token'), 'token-2\n');
    vi.setSystemTime(1_000_000 + 30_000);
    expect((await applied(conn)).headers).toMatchObject({ authorization: 'Bearer token-1' });
    vi.setSystemTime(1_000_000 + 61_000);
    expect((await applied(conn)).headers).toMatchObject({ authorization: 'Bearer token-2' });
  });

  it('falls back to ~/.kube/config outside a cluster', () => {
    const home = dir();
    mkdirSync(join(home, '.kube'));
    kubeconfig(home, '.kube/config', config({ token: 't' }, { server: 'https://home' }));
    expect(loadKubeConnection(undefined, { env: {}, home, inClusterDir: dir() }).server).toBe('https://home');
  });

  it('says what is missing', () => {
    const d = dir();
    const err = (f: () => unknown) => { try { f(); } catch (e) { return `${(e as { code: string }).code}: ${(e as Error).message}`; } return 'no error'; };
    expect(err(() => loadKubeConnection(join(d, 'nope'), { env: {} }))).toMatch(/^KUBESCRIBE_ERR_SETTINGS_INVALID: kubeconfig .*nope does not exist$/);
    expect(err(() => loadKubeConnection(kubeconfig(d, 'e1', { clusters: [] }), { env: {} }))).toMatch(/no current-context/);
    expect(err(() => loadKubeConnection(kubeconfig(d, 'e2', { ...config({}), 'current-context': 'other' }), { env: {} }))).toMatch(/context "other" not found/);
    expect(err(() => loadKubeConnection(kubeconfig(d, 'e3', config({}, {})), { env: {} }))).toMatch(/cluster "dev" has no server/);
    writeFileSync(join(d, 'e4'), 'a: [');
    expect(err(() => loadKubeConnection(join(d, 'e4'), { env: {} }))).toMatch(/is not valid YAML/);
    expect(err(() => loadKubeConnection(undefined, { env: {}, home: dir(), inClusterDir: dir() }))).toMatch(/no Kubernetes connection/);
  });

  it('hands exec plugins to client-node, loaded only when a request needs credentials', async () => {
    const d = dir();
    const file = kubeconfig(d, 'exec', config({ exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'printf', args: ['{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec"}}'], interactiveMode: 'Never' } }));
    const conn = loadKubeConnection(file, { env: {} });
    expect((await applied(conn)).headers).toMatchObject({ Authorization: 'Bearer from-exec' });
  });
});
