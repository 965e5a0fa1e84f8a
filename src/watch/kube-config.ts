// Where the Kubernetes API is and how to authenticate to it, in the order controller-runtime
// uses: an explicit kubeconfig file, then $KUBECONFIG, then the in-cluster service account, then
// ~/.kube/config. Kubeconfig files with certificates, keys, CAs (inline or as files), bearer tokens
// (inline or tokenFile) and basic auth are read here; users with an `exec` or `auth-provider`
// plugin are handed to @kubernetes/client-node, loaded only then: loading it costs ~0.6 s and
// ~70 MiB of memory, which an operator that only needs a service account should not pay.
// As kubectl: `proxy-url` (http, https, socks5), else HTTPS_PROXY/NO_PROXY (never for loopback),
// impersonation (`as`, `as-uid`, `as-groups`, `as-user-extra`). What kubectl cannot use either
// (an encrypted private key: a kubeconfig has no passphrase) fails at start, naming the field.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { Agent, type AgentOptions, type RequestOptions } from 'node:https';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { SocksProxyAgent } from 'socks-proxy-agent';
import { parse } from 'yaml';
import { KubescribeError } from '../errors.ts';
import { proxyFromEnv } from './proxy-env.ts';

export interface KubeConnection {
  /** The API server's base URL, without a trailing slash. */
  server: string;
  /** Where the settings came from (a file path or "in-cluster"), for messages. */
  source: string;
  /** Adds TLS settings and credentials to a request's options (re-reads rotated token and CA files). */
  apply(opts: RequestOptions): Promise<void>;
  /** A connection pool to the server: direct, or through the proxy kubectl would use. */
  createAgent(opts: AgentOptions): Agent;
  /** The proxy in use (credentials removed), for messages; undefined when direct. */
  proxy?: string;
}

export const IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** How long a token read from a file is used before the file is read again (client-go: 1 min). */
const TOKEN_REREAD_MS = 60_000;
/** How often the in-cluster CA file is checked for a rotation (by its modification time). */
const CA_RECHECK_MS = 10_000;

interface Named<T> { name?: string; cluster?: T; user?: T; context?: T }
interface ClusterEntry {
  server?: string; 'certificate-authority'?: string; 'certificate-authority-data'?: string; 'insecure-skip-tls-verify'?: boolean; 'tls-server-name'?: string;
  'proxy-url'?: string;
}
interface UserEntry {
  'client-certificate'?: string; 'client-certificate-data'?: string; 'client-key'?: string; 'client-key-data'?: string;
  token?: string; tokenFile?: string; username?: string; password?: string; exec?: unknown; 'auth-provider'?: unknown;
  as?: string; 'as-uid'?: string; 'as-groups'?: string[]; 'as-user-extra'?: Record<string, string[]>;
}
interface ContextEntry { cluster?: string; user?: string }
interface KubeConfigFile { 'current-context'?: string; clusters?: Array<Named<ClusterEntry>>; users?: Array<Named<UserEntry>>; contexts?: Array<Named<ContextEntry>> }

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  home?: string;
  inClusterDir?: string;
}

/** Finds and reads the connection settings; throws KUBESCRIBE_ERR_SETTINGS_INVALID saying what is missing. */
export function loadKubeConnection(file?: string, o: LoadOptions = {}): KubeConnection {
  const env = o.env ?? process.env;
  if (file) return fromKubeconfigFiles([file]);
  if (env.KUBECONFIG) return fromKubeconfigFiles(env.KUBECONFIG.split(delimiter).filter(Boolean));
  const dir = o.inClusterDir ?? IN_CLUSTER_DIR;
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && existsSync(join(dir, 'token'))) return inCluster(env.KUBERNETES_SERVICE_HOST, env.KUBERNETES_SERVICE_PORT, dir);
  const home = join(o.home ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return fromKubeconfigFiles([home]);
  throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', 'no Kubernetes connection: set kubernetes.kubeconfig or $KUBECONFIG, run in a pod with a service account, or provide ~/.kube/config');
}

function inCluster(host: string, port: string, dir: string): KubeConnection {
  const ca = caReader(join(dir, 'ca.crt'));
  const token = tokenReader(join(dir, 'token'));
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    server,
    source: 'in-cluster',
    async apply(opts) {
      // A new CA gives new options, so the agent opens new connections with it (the pool is keyed
      // by the TLS options); connections made with the old CA are not reused for it.
      opts.ca = ca();
      opts.headers = { ...opts.headers, authorization: `Bearer ${token()}` };
    },
    ...proxying(server, undefined, 'in-cluster'),
  };
}

/** The in-cluster CA bundle, read again when the file changes (the kubelet rotates it in place). */
export function caReader(path: string, now: () => number = Date.now): () => Buffer {
  let value = readFileSync(path);
  let mtime = statSync(path).mtimeMs;
  let checkedAt = now();
  return () => {
    if (now() - checkedAt < CA_RECHECK_MS) return value;
    checkedAt = now();
    try {
      const m = statSync(path).mtimeMs;
      if (m !== mtime) {
        const next = readFileSync(path);
        if (next.length > 0) value = next; // a file caught mid-write is read at the next check
        mtime = m;
      }
    } catch { /* the file is being replaced: keep the CA we have */ }
    return value;
  };
}

/**
 * How kubectl reaches the server: `proxy-url` if set, else the proxy environment (HTTPS_PROXY,
 * NO_PROXY; never for localhost or a loopback address, as Go's ProxyFromEnvironment).
 */
function proxying(server: string, proxyUrl: string | undefined, field: string): Pick<KubeConnection, 'createAgent' | 'proxy'> {
  let chosen = proxyUrl;
  if (!chosen) {
    chosen = proxyFromEnv(server);
    field = 'HTTPS_PROXY';
  }
  if (!chosen) return { createAgent: (o) => new Agent(o) };
  let url: URL;
  try {
    url = new URL(chosen);
  } catch {
    throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `${field}: "${chosen}" is not a URL`);
  }
  const shown = `${url.protocol}//${url.host}`;
  if (url.protocol === 'http:' || url.protocol === 'https:') return { proxy: shown, createAgent: (o) => new HttpsProxyAgent(url, o) };
  if (url.protocol === 'socks5:' || url.protocol === 'socks5h:') return { proxy: shown, createAgent: (o) => new SocksProxyAgent(url, o) as unknown as Agent };
  throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `${field}: proxy scheme ${url.protocol} is not supported (http, https, socks5 are, as in kubectl)`);
}

/** A private key kubectl could not use either: an encrypted one (a kubeconfig has no passphrase field). */
function checkKey(key: Buffer | undefined, field: string): void {
  if (!key) return;
  const text = key.toString('latin1');
  if (text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /Proc-Type:\s*4,ENCRYPTED/.test(text)) {
    throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `${field} is an encrypted private key; a kubeconfig has no passphrase (kubectl cannot use it either): decrypt it (openssl pkey -in key.pem -out plain.pem)`);
  }
}

/** The impersonation headers of a kubeconfig user (`as`, `as-uid`, `as-groups`, `as-user-extra`). */
export function impersonationHeaders(user: UserEntry, field: string): Record<string, string | string[]> {
  const h: Record<string, string | string[]> = {};
  const groups = user['as-groups'] ?? [];
  const extra = user['as-user-extra'] ?? {};
  if (!user.as) {
    if (groups.length > 0 || user['as-uid'] || Object.keys(extra).length > 0) {
      throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `${field}: as-groups, as-uid and as-user-extra need "as" (the user to impersonate), as in kubectl`);
    }
    return h;
  }
  h['impersonate-user'] = user.as;
  if (user['as-uid']) h['impersonate-uid'] = user['as-uid'];
  if (groups.length > 0) h['impersonate-group'] = [...groups];
  for (const [k, v] of Object.entries(extra)) h[`impersonate-extra-${encodeURIComponent(k).toLowerCase()}`] = [...v];
  return h;
}

/** Reads a token file, again after a minute (projected service-account tokens rotate). */
function tokenReader(path: string): () => string {
  let value = '';
  let readAt = -Infinity;
  return () => {
    if (Date.now() - readAt > TOKEN_REREAD_MS) {
      value = readFileSync(path, 'utf8').trim();
      readAt = Date.now();
    }
    return value;
  };
}

function fromKubeconfigFiles(files: string[]): KubeConnection {
  // Several files merge as kubectl merges them: the first to set a value (or a name) wins.
  const merged: Required<Pick<KubeConfigFile, 'clusters' | 'users' | 'contexts'>> & { current?: string } = { clusters: [], users: [], contexts: [] };
  const dirOf = new Map<object, string>();
  const read: string[] = [];
  for (const f of files) {
    if (!existsSync(f)) {
      if (files.length === 1) throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `kubeconfig ${f} does not exist`);
      continue;
    }
    let doc: KubeConfigFile;
    try {
      doc = (parse(readFileSync(f, 'utf8')) ?? {}) as KubeConfigFile;
    } catch (err) {
      throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `kubeconfig ${f} is not valid YAML: ${(err as Error).message}`);
    }
    read.push(f);
    merged.current ??= doc['current-context'] || undefined;
    for (const key of ['clusters', 'users', 'contexts'] as const) {
      for (const entry of doc[key] ?? []) {
        if (!entry?.name || (merged[key] as Array<Named<unknown>>).some((e) => e.name === entry.name)) continue;
        (merged[key] as Array<Named<unknown>>).push(entry);
        dirOf.set(entry, dirname(f));
      }
    }
  }
  const source = read.join(delimiter) || files.join(delimiter);
  const fail = (what: string): never => { throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `kubeconfig ${source}: ${what}`); };
  if (!merged.current) fail('no current-context');
  const context = merged.contexts.find((c) => c.name === merged.current)?.context ?? fail(`context "${merged.current}" not found`);
  const clusterEntry = merged.clusters.find((c) => c.name === context.cluster) ?? fail(`cluster "${context.cluster}" not found`);
  const cluster = clusterEntry.cluster ?? fail(`cluster "${context.cluster}" is empty`);
  const server = (cluster.server ?? fail(`cluster "${context.cluster}" has no server`)).replace(/\/$/, '');
  const userEntry = context.user ? merged.users.find((u) => u.name === context.user) : undefined;
  const user: UserEntry = userEntry?.user ?? {};
  const resolve = (entry: object | undefined, p: string): string => (isAbsolute(p) ? p : join(dirOf.get(entry ?? {}) ?? '.', p));
  const fileOrData = (entry: object | undefined, data: string | undefined, path: string | undefined): Buffer | undefined =>
    data ? Buffer.from(data, 'base64') : path ? readFileSync(resolve(entry, path)) : undefined;

  const userField = `kubeconfig ${source}: users[${JSON.stringify(context.user ?? '')}].user`;
  const impersonate = impersonationHeaders(user, userField);
  const net = proxying(server, cluster['proxy-url'], `kubeconfig ${source}: clusters[${JSON.stringify(context.cluster ?? '')}].cluster.proxy-url`);
  if (user.exec || user['auth-provider']) return viaClientNode(files, server, source, impersonate, net);
  const ca = fileOrData(clusterEntry, cluster['certificate-authority-data'], cluster['certificate-authority']);
  const cert = fileOrData(userEntry, user['client-certificate-data'], user['client-certificate']);
  const key = fileOrData(userEntry, user['client-key-data'], user['client-key']);
  checkKey(key, `${userField}.${user['client-key-data'] ? 'client-key-data' : 'client-key'}`);
  const token = user.token ? () => user.token as string : user.tokenFile ? tokenReader(resolve(userEntry, user.tokenFile)) : undefined;
  const basic = user.username !== undefined && user.password !== undefined ? Buffer.from(`${user.username}:${user.password}`).toString('base64') : undefined;
  const insecure = cluster['insecure-skip-tls-verify'] === true;
  const serverName = cluster['tls-server-name'];
  return {
    server,
    source,
    async apply(opts) {
      if (ca) opts.ca = ca;
      if (cert) opts.cert = cert;
      if (key) opts.key = key;
      if (insecure) opts.rejectUnauthorized = false;
      if (serverName) opts.servername = serverName;
      if (token) opts.headers = { ...opts.headers, authorization: `Bearer ${token()}` };
      else if (basic) opts.headers = { ...opts.headers, authorization: `Basic ${basic}` };
      if (impersonate['impersonate-user']) opts.headers = { ...opts.headers, ...impersonate };
    },
    ...net,
  };
}

/** exec and auth-provider plugins: client-node runs them (and caches their credentials). */
function viaClientNode(files: string[], server: string, source: string, impersonate: Record<string, string | string[]>, net: Pick<KubeConnection, 'createAgent' | 'proxy'>): KubeConnection {
  let loaded: Promise<{ applyToHTTPSOptions(o: RequestOptions): Promise<void> }> | undefined;
  return {
    server,
    source,
    async apply(opts) {
      loaded ??= import('@kubernetes/client-node').then(({ KubeConfig }) => {
        const kc = new KubeConfig();
        if (files.length === 1) kc.loadFromFile(files[0] as string);
        else kc.loadFromDefault({}, false);
        return kc;
      });
      await (await loaded).applyToHTTPSOptions(opts);
      if (impersonate['impersonate-user']) opts.headers = { ...opts.headers, ...impersonate };
    },
    ...net,
  };
}

