// Where the Kubernetes API is and how to authenticate to it, in the order controller-runtime
// uses: an explicit kubeconfig file, then $KUBECONFIG, then the in-cluster service account, then
// ~/.kube/config. Kubeconfig files with certificates, keys, CAs (inline or as files), bearer tokens
// (inline or tokenFile) and basic auth are read here; users with an `exec` or `auth-provider`
// plugin are handed to @kubernetes/client-node, loaded only then: loading it costs ~0.6 s and
// ~70 MiB of memory, which an operator that only needs a service account should not pay.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import type { RequestOptions } from 'node:https';
import { parse } from 'yaml';
import { KubescribeError } from '../errors.ts';

export interface KubeConnection {
  /** The API server's base URL, without a trailing slash. */
  server: string;
  /** Where the settings came from (a file path or "in-cluster"), for messages. */
  source: string;
  /** Adds TLS settings and credentials to a request's options (re-reads rotated token files). */
  apply(opts: RequestOptions): Promise<void>;
}

export const IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** How long a token read from a file is used before the file is read again (client-go: 1 min). */
const TOKEN_REREAD_MS = 60_000;

interface Named<T> { name?: string; cluster?: T; user?: T; context?: T }
interface ClusterEntry { server?: string; 'certificate-authority'?: string; 'certificate-authority-data'?: string; 'insecure-skip-tls-verify'?: boolean; 'tls-server-name'?: string }
interface UserEntry {
  'client-certificate'?: string; 'client-certificate-data'?: string; 'client-key'?: string; 'client-key-data'?: string;
  token?: string; tokenFile?: string; username?: string; password?: string; exec?: unknown; 'auth-provider'?: unknown;
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
  const ca = readFileSync(join(dir, 'ca.crt'));
  const token = tokenReader(join(dir, 'token'));
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    source: 'in-cluster',
    async apply(opts) {
      opts.ca = ca;
      opts.headers = { ...opts.headers, authorization: `Bearer ${token()}` };
    },
  };
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

  if (user.exec || user['auth-provider']) return viaClientNode(files, server, source);
  const ca = fileOrData(clusterEntry, cluster['certificate-authority-data'], cluster['certificate-authority']);
  const cert = fileOrData(userEntry, user['client-certificate-data'], user['client-certificate']);
  const key = fileOrData(userEntry, user['client-key-data'], user['client-key']);
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
    },
  };
}

/** exec and auth-provider plugins: client-node runs them (and caches their credentials). */
function viaClientNode(files: string[], server: string, source: string): KubeConnection {
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
    },
  };
}

