import { mkdtempSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
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

  describe('what kubectl also honours', () => {
    it('impersonation: as, as-uid, as-groups and as-user-extra become Impersonate-* headers', async () => {
      const d = dir();
      const o = await applied(loadKubeConnection(kubeconfig(d, 'imp', config({ token: 't', as: 'alice', 'as-uid': 'u-1', 'as-groups': ['dev', 'ops'], 'as-user-extra': { 'reason/why': ['audit'] } })), { env: {} }));
      expect(o.headers).toMatchObject({
        authorization: 'Bearer t', 'impersonate-user': 'alice', 'impersonate-uid': 'u-1',
        'impersonate-group': ['dev', 'ops'], 'impersonate-extra-reason%2fwhy': ['audit'],
      });
      const plain = await applied(loadKubeConnection(kubeconfig(d, 'noimp', config({ token: 't' })), { env: {} }));
      expect(Object.keys(plain.headers ?? {}).some((h) => h.startsWith('impersonate'))).toBe(false);
    });

    it('as-groups without as fails at start, naming the field', () => {
      const d = dir();
      expect(() => loadKubeConnection(kubeconfig(d, 'g', config({ token: 't', 'as-groups': ['dev'] })), { env: {} })).toThrow(/users\["dev"\]\.user: as-groups, as-uid and as-user-extra need "as"/);
    });

    it('an encrypted private key fails at start, naming the field', () => {
      const d = dir();
      const enc = '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n';
      const legacy = '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nMIIB\n-----END RSA PRIVATE KEY-----\n';
      writeFileSync(join(d, 'k.pem'), legacy);
      expect(() => loadKubeConnection(kubeconfig(d, 'e1', config({ 'client-certificate-data': 'Q0VSVA==', 'client-key-data': Buffer.from(enc).toString('base64') })), { env: {} }))
        .toThrow(/users\["dev"\]\.user\.client-key-data is an encrypted private key/);
      expect(() => loadKubeConnection(kubeconfig(d, 'e2', config({ 'client-certificate-data': 'Q0VSVA==', 'client-key': 'k.pem' })), { env: {} }))
        .toThrow(/users\["dev"\]\.user\.client-key is an encrypted private key/);
    });

    it('proxy-url: http, https and socks5 proxies; another scheme fails naming the field', () => {
      const d = dir();
      const via = (proxy: string) => loadKubeConnection(kubeconfig(d, `p${Math.random()}`, config({ token: 't' }, { server: 'https://api.example:6443', 'proxy-url': proxy })), { env: {} });
      const http = via('http://user:secret@proxy.example:3128');
      expect(http.proxy).toBe('http://proxy.example:3128'); // no credentials in messages
      expect(http.createAgent({}).constructor.name).toBe('HttpsProxyAgent');
      expect(via('https://proxy.example:3129').createAgent({}).constructor.name).toBe('HttpsProxyAgent');
      expect(via('socks5://proxy.example:1080').createAgent({}).constructor.name).toBe('SocksProxyAgent');
      expect(() => via('ftp://proxy.example')).toThrow(/clusters\["dev"\]\.cluster\.proxy-url: proxy scheme ftp: is not supported/);
    });

    it('HTTPS_PROXY and NO_PROXY when there is no proxy-url; never for a loopback server', () => {
      const d = dir();
      vi.stubEnv('HTTPS_PROXY', 'http://envproxy.example:8080');
      vi.stubEnv('NO_PROXY', 'internal.example');
      try {
        const conn = (server: string) => loadKubeConnection(kubeconfig(d, `s${Math.random()}`, config({ token: 't' }, { server })), { env: {} });
        expect(conn('https://api.example:6443').proxy).toBe('http://envproxy.example:8080');
        expect(conn('https://api.internal.example:6443').proxy).toBeUndefined();
        expect(conn('https://127.0.0.1:6443').proxy).toBeUndefined();
        expect(conn('https://localhost:6443').proxy).toBeUndefined();
        expect(conn('https://api.example:6443').createAgent({}).constructor.name).toBe('HttpsProxyAgent');
        expect(conn('https://api.internal.example:6443').createAgent({}).constructor.name).toBe('Agent');
      } finally {
        vi.unstubAllEnvs();
      }
    });

    it('in-cluster: the CA file is read again when it is rotated', async () => {
      const d = dir();
      writeFileSync(join(d, 'token'), 'tok');
      writeFileSync(join(d, 'ca.crt'), 'CA-1');
      vi.useFakeTimers({ now: 2_000_000 });
      const conn = loadKubeConnection(undefined, { env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, inClusterDir: d, home: dir() });
      expect(String((await applied(conn)).ca)).toBe('CA-1');
      writeFileSync(join(d, 'ca.crt'), 'CA-2');
      utimesSync(join(d, 'ca.crt'), new Date(5_000_000), new Date(5_000_000));
      vi.setSystemTime(2_000_000 + 11_000);
      expect(String((await applied(conn)).ca)).toBe('CA-2');
    });
  });
});
