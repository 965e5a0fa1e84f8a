// The local development stack of DESIGN.md: control plane, Git server, kubescribe. `up` starts
// what is not running (on the same data and ports as before) and writes env.json; `down` stops
// exactly what `up` started. One stack lives in one folder (.dev for dev:up, .dev/e2e for tests).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootstrapCluster, ensureBinaries, kubectl, prepareControlPlane, startControlPlane, waitReady, type ControlPlaneInfo } from './control-plane.ts';
import type { StackEnv } from './env.ts';
import { ensureCert } from './pki.ts';
import { freePort, isRunning, startDetached, stopProcess, waitFor, type ProcessRecord } from './processes.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface StackState {
  marker: string;
  ports: { api: number; etcdClient: number; etcdPeer: number; git: number; webhook: number; metrics: number };
  git: { username: string; password: string };
  processes: { controlplane?: ProcessRecord; git?: ProcessRecord; kubescribe?: ProcessRecord };
}

export interface UpOptions {
  dir: string;
  /** Start kubescribe too (default true). */
  kubescribe?: boolean;
  log?: (msg: string) => void;
}

function statePath(dir: string): string { return join(dir, 'state.json'); }

function readState(dir: string): StackState | undefined {
  try { return JSON.parse(readFileSync(statePath(dir), 'utf8')) as StackState; } catch { return undefined; }
}

async function writeState(dir: string, state: StackState): Promise<void> {
  await writeFile(statePath(dir), JSON.stringify(state, null, 2));
}

async function newState(): Promise<StackState> {
  return {
    marker: `kubescribe-stack-${randomBytes(6).toString('hex')}`,
    ports: { api: await freePort(), etcdClient: await freePort(), etcdPeer: await freePort(), git: await freePort(), webhook: await freePort(), metrics: await freePort() },
    git: { username: 'kubescribe', password: randomBytes(12).toString('hex') },
    processes: {},
  };
}

export async function up(opts: UpOptions): Promise<StackEnv> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`[stack] ${m}\n`));
  const dir = resolve(opts.dir);
  await mkdir(dir, { recursive: true });
  const state = readState(dir) ?? (await newState());
  const binDir = ensureBinaries();
  const layout = { dir, ports: { api: state.ports.api, etcdClient: state.ports.etcdClient, etcdPeer: state.ports.etcdPeer } };
  const cp = await prepareControlPlane(layout, binDir);

  let apiserver = state.processes.controlplane;
  if (!apiserver || !isRunning(apiserver)) {
    log(`starting kube-apiserver + etcd on ${cp.server}`);
    apiserver = state.processes.controlplane = startControlPlane(layout, cp, state.marker);
    await writeState(dir, state);
  }
  const started = Date.now();
  await waitReady(cp, apiserver);
  log(`apiserver ready after ${Date.now() - started} ms`);
  await bootstrapCluster(cp);

  const gitRoot = join(dir, 'git');
  const gitUrl = `http://127.0.0.1:${state.ports.git}`;
  if (!isRunning(state.processes.git)) {
    const { createBareRepo } = await import('./git-server.ts');
    await mkdir(gitRoot, { recursive: true });
    if (!existsSync(join(gitRoot, 'audit.git'))) await createBareRepo(gitRoot, 'audit', { defaultBranch: 'main' });
    log(`starting the Git server on ${gitUrl}`);
    state.processes.git = startDetached(process.execPath, ['--import', 'tsx', join(repoRoot, 'e2e', 'stack', 'git-server.ts'),
      '--root', gitRoot, '--user', state.git.username, '--password', state.git.password, '--port', String(state.ports.git)],
    { log: join(dir, 'git-server.log'), marker: state.marker, cwd: repoRoot });
    await writeState(dir, state);
  }
  await waitFor('the Git server', async () => (await fetch(`${gitUrl}/audit.git/info/refs?service=git-upload-pack`)).status === 401, 30_000, 100);

  const env: StackEnv = {
    kubeconfigs: cp.kubeconfigs as StackEnv['kubeconfigs'],
    git: { url: `${gitUrl}/audit.git`, username: state.git.username, password: state.git.password, branch: 'main', root: gitRoot },
    apiserver: { server: cp.server, caFile: cp.caFile, pid: apiserver.pid },
    bin: { kubectl: join(binDir, 'kubectl'), kscp: join(binDir, 'kscp'), helm: helmPath(binDir) },
    logs: dir,
    stackDir: dir,
  };
  if (opts.kubescribe !== false) env.kubescribe = await upKubescribe(dir, state, cp, env, log);
  await writeState(dir, state);
  await writeFile(join(dir, 'env.json'), JSON.stringify(env, null, 2) + '\n');
  return env;
}

function helmPath(binDir: string): string {
  const cache = dirname(binDir);
  const mod = readFileSync(join(repoRoot, 'e2e', 'controlplane', 'helm', 'go.mod'), 'utf8');
  const version = /helm\.sh\/helm\/v3 v(\S+)/.exec(mod)?.[1] ?? 'unknown';
  return join(cache, `helm-${version}`, 'helm');
}

/** The settings kubescribe runs with on the local stack (DESIGN.md: what dev:up records by default). */
export function kubescribeSettings(dir: string, state: StackState, cp: ControlPlaneInfo, gitUrl: string): Record<string, unknown> {
  const ks = join(dir, 'kubescribe');
  return {
    dataDir: join(ks, 'data'),
    ownNamespace: 'kubescribe',
    logLevel: 'info',
    kubernetes: { kubeconfig: cp.kubeconfigs.kubescribe },
    git: { url: gitUrl, branch: 'main', baseFolder: '', usernameFile: join(ks, 'git-username'), passwordFile: join(ks, 'git-password'), pushIntervalMs: 500 },
    watch: { resources: ['configmaps', 'secrets', 'services', 'deployments.apps'], namespaces: { exclude: ['kube-*', 'kubescribe'] } },
    webhook: { host: '127.0.0.1', port: state.ports.webhook, tlsCertFile: join(dir, 'pki', 'webhook.crt'), tlsKeyFile: join(dir, 'pki', 'webhook.key') },
    server: { host: '127.0.0.1', port: state.ports.metrics },
    sanitize: { secretHashKeyFile: join(ks, 'secret-hash-key') },
    // Short, so that resource types added later (CRDs) are picked up quickly on the local stack.
    customResources: { enabled: true, discoveryIntervalMs: 2000 },
  };
}

async function upKubescribe(dir: string, state: StackState, cp: ControlPlaneInfo, env: StackEnv, log: (m: string) => void): Promise<NonNullable<StackEnv['kubescribe']>> {
  const ks = join(dir, 'kubescribe');
  await mkdir(ks, { recursive: true });
  const ca = { cert: cp.caFile, key: join(dir, 'pki', 'ca.key') };
  await ensureCert(join(dir, 'pki'), ca, { name: 'webhook', commonName: 'kubescribe-webhook', usage: 'server', ips: ['127.0.0.1'], dnsNames: ['localhost'] });
  await writeFile(join(ks, 'git-username'), state.git.username, { mode: 0o600 });
  await writeFile(join(ks, 'git-password'), state.git.password, { mode: 0o600 });
  if (!existsSync(join(ks, 'secret-hash-key'))) await writeFile(join(ks, 'secret-hash-key'), randomBytes(32).toString('hex'), { mode: 0o600 });
  const settingsFile = join(ks, 'settings.yaml');
  const { stringify } = await import('yaml');
  await writeFile(settingsFile, stringify(kubescribeSettings(dir, state, cp, env.git.url)));
  const main = join(repoRoot, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`kubescribe is not built (${main} is missing): run \`npm run build\` first`);
  const logFile = join(dir, 'kubescribe.log');
  // Registered before kubescribe starts (failurePolicy Ignore); kubescribe then keeps its rules.
  await registerWebhook(cp, state.ports.webhook);
  let proc = state.processes.kubescribe;
  if (!proc || !isRunning(proc)) {
    log(`starting kubescribe (webhook https://127.0.0.1:${state.ports.webhook}, metrics http://127.0.0.1:${state.ports.metrics})`);
    proc = state.processes.kubescribe = startDetached(process.execPath, ['--enable-source-maps', main, 'run', '--settings', settingsFile], { log: logFile, marker: state.marker, cwd: repoRoot });
    await writeState(dir, state);
  }
  const metricsUrl = `http://127.0.0.1:${state.ports.metrics}/metrics`;
  const running = proc;
  await waitFor(`kubescribe /readyz (log: ${logFile})`, async () => {
    if (!isRunning(running)) throw new Error(`kubescribe exited; see ${logFile}`);
    return (await fetch(`http://127.0.0.1:${state.ports.metrics}/readyz`)).status === 200;
  }, 60_000, 100);
  return { metricsUrl, pid: proc.pid, webhookUrl: `https://127.0.0.1:${state.ports.webhook}/admission`, settings: settingsFile, dataDir: join(ks, 'data'), log: logFile };
}

/** The ValidatingWebhookConfiguration that points the apiserver at kubescribe by URL + caBundle. */
export function webhookConfiguration(name: string, url: string, caBundle: string, resources: Array<{ group: string; version: string; resource: string }>, excludeNamespaces: string[]): Record<string, unknown> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name },
    webhooks: [{
      name: 'record.kubescribe.dev',
      clientConfig: { url, caBundle },
      rules: resources.map((r) => ({ apiGroups: [r.group], apiVersions: [r.version], resources: [r.resource], operations: ['CREATE', 'UPDATE', 'DELETE'], scope: '*' })),
      namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: excludeNamespaces }] },
      failurePolicy: 'Ignore',
      // kubescribe records in memory and ignores dry-run requests: it has no side effect on dry-run.
      sideEffects: 'NoneOnDryRun',
      timeoutSeconds: 5,
      admissionReviewVersions: ['v1'],
      matchPolicy: 'Equivalent',
    }],
  };
}

async function registerWebhook(cp: ControlPlaneInfo, port: number): Promise<void> {
  const caBundle = readFileSync(cp.caFile).toString('base64');
  const vwc = webhookConfiguration('kubescribe', `https://127.0.0.1:${port}/admission`, caBundle, [
    { group: '', version: 'v1', resource: 'configmaps' }, { group: '', version: 'v1', resource: 'secrets' },
    { group: '', version: 'v1', resource: 'services' }, { group: 'apps', version: 'v1', resource: 'deployments' },
    { group: 'apps', version: 'v1', resource: 'deployments/scale' },
  ], ['kube-system', 'kube-public', 'kube-node-lease', 'kubescribe']);
  await kubectl(cp, 'admin', ['apply', '-f', '-'], JSON.stringify(vwc));
}

export async function down(opts: { dir: string; purge?: boolean; log?: (msg: string) => void }): Promise<void> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`[stack] ${m}\n`));
  const dir = resolve(opts.dir);
  const state = readState(dir);
  if (state) {
    for (const name of ['kubescribe', 'git', 'controlplane'] as const) {
      const rec = state.processes[name];
      if (isRunning(rec)) {
        log(`stopping ${name} (pid ${rec?.pid})`);
        await stopProcess(rec);
      }
    }
  }
  if (opts.purge) await rm(dir, { recursive: true, force: true });
}

/** For fault tests: the process records of a running stack. */
export function stackProcesses(dir: string): StackState['processes'] {
  return readState(resolve(dir))?.processes ?? {};
}
