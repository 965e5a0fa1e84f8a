// The local development stack of DESIGN.md: control plane (with its controllers), Git server, kubescribe. `up` starts
// what is not running (on the same data and ports as before) and writes env.json; `down` stops
// exactly what `up` started. One stack lives in one folder (.dev for dev:up, .dev/e2e for tests).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootstrapCluster, ensureBinaries, kubectl, prepareControlPlane, startControlPlane, waitReady, type ControlPlaneInfo } from './control-plane.ts';
import { startControllerManager, startScheduler, waitControllersActing } from './controllers.ts';
import { loadEnv, type StackEnv } from './env.ts';
import { KUBESCRIBE_IMAGE, kubescribeImage } from '../node/kubescribe-image.ts';
import { NODE } from './node-network.ts';
import { downNode, nodeMode, upNode } from './node.ts';
import { ensureCert } from './pki.ts';
import { freePort, isRunning, startDetached, stopProcess, waitFor, type ProcessRecord } from './processes.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface StackState {
  marker: string;
  /** webhook/metrics: replica 0; replicas: every replica's ports; proxy: in front of several. */
  ports: { api: number; etcdClient: number; etcdPeer: number; git: number; ssh?: number; webhook: number; metrics: number; proxy?: number; replicas?: Array<{ webhook: number; metrics: number }> };
  git: { username: string; password: string };
  processes: { controlplane?: ProcessRecord; controllerManager?: ProcessRecord; scheduler?: ProcessRecord; git?: ProcessRecord; ssh?: ProcessRecord; kubescribe?: ProcessRecord; replicas?: Array<ProcessRecord | undefined>; proxy?: ProcessRecord };
}

export interface UpOptions {
  dir: string;
  /** Start kubescribe too (default true). */
  kubescribe?: boolean;
  /** How many kubescribe replicas (default: $KUBESCRIBE_REPLICAS or 1); several run behind a TCP proxy. */
  replicas?: number;
  /** The node (node.ts): default from $KUBESCRIBE_NODE and CI (nodeMode). */
  node?: 'auto' | 'require' | 'off';
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
  let controllerManager = state.processes.controllerManager;
  if (!controllerManager || !isRunning(controllerManager)) controllerManager = state.processes.controllerManager = startControllerManager(dir, cp, state.marker);
  if (!isRunning(state.processes.scheduler)) state.processes.scheduler = startScheduler(dir, cp, state.marker);
  await writeState(dir, state);
  await bootstrapCluster(cp);
  await waitControllersActing(cp, controllerManager);

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

  // The same repositories over SSH (a stack from before SSH existed gets a port now).
  const sshModule = await import('./ssh-server.ts');
  state.ports.ssh ??= await freePort();
  const sshPort = state.ports.ssh;
  const sshFiles = await sshModule.prepareSshServer(join(dir, 'ssh'), gitRoot, sshPort);
  await sshModule.shareRepository(join(gitRoot, 'audit.git'));
  if (!isRunning(state.processes.ssh)) {
    log(`starting the SSH Git server on 127.0.0.1:${sshPort}`);
    state.processes.ssh = sshModule.startSshServer(sshFiles, state.marker);
    await writeState(dir, state);
  }
  await waitFor('the SSH Git server', () => sshModule.sshAnswers(sshPort), 30_000, 100);

  const node = await upNode({
    stackDir: dir, marker: state.marker, cp, apiPort: state.ports.api, gitPort: state.ports.git, mode: opts.node ?? nodeMode(), log,
    images: async () => {
      const tarball = await kubescribeImage(repoRoot, dirname(binDir), log);
      return [{ tag: KUBESCRIBE_IMAGE, tarball }];
    },
  });
  if (!node.ready) log(`no node: ${node.reason}`);
  const env: StackEnv = {
    kubeconfigs: cp.kubeconfigs as StackEnv['kubeconfigs'],
    git: {
      url: `${gitUrl}/audit.git`, username: state.git.username, password: state.git.password, branch: 'main', root: gitRoot,
      ssh: { url: `ssh://git@127.0.0.1:${sshPort}/audit.git`, identityFile: sshFiles.identityFile, knownHostsFile: sshFiles.knownHostsFile },
      ...(node.ready ? { clusterUrl: `http://${NODE.gateway}:${state.ports.git}/audit.git` } : {}),
    },
    node: { ready: node.ready, ...(node.image ? { image: node.image } : {}), ...(node.reason ? { reason: node.reason } : {}) },
    apiserver: { server: cp.server, caFile: cp.caFile, pid: apiserver.pid },
    bin: { kubectl: join(binDir, 'kubectl'), kscp: join(binDir, 'kscp'), helm: helmPath(binDir) },
    logs: dir,
    stackDir: dir,
  };
  if (opts.kubescribe !== false) env.kubescribe = await upKubescribe(dir, state, cp, env, log, opts.replicas ?? Number(process.env.KUBESCRIBE_REPLICAS ?? '1'));
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
export function kubescribeSettings(dir: string, state: StackState, cp: ControlPlaneInfo, gitUrl: string, replica = 0, peers: string[] = []): Record<string, unknown> {
  const ks = join(dir, 'kubescribe');
  const ports = state.ports.replicas?.[replica] ?? { webhook: state.ports.webhook, metrics: state.ports.metrics };
  return {
    dataDir: join(ks, replica === 0 ? 'data' : `data-${replica}`),
    ownNamespace: 'kubescribe',
    logLevel: 'info',
    kubernetes: { kubeconfig: cp.kubeconfigs.kubescribe },
    git: { url: gitUrl, branch: 'main', baseFolder: '', usernameFile: join(ks, 'git-username'), passwordFile: join(ks, 'git-password'), pushIntervalMs: 500 },
    // own-*: namespaces of specs that install a kubescribe of their own (chart-node's burst of
    // 10,000 is recorded by that one, not twice).
    watch: { resources: ['configmaps', 'secrets', 'services', 'deployments.apps'], namespaces: { exclude: ['kube-*', 'kubescribe', 'own-*'] } },
    webhook: { host: '127.0.0.1', port: ports.webhook, tlsCertFile: join(dir, 'pki', 'webhook.crt'), tlsKeyFile: join(dir, 'pki', 'webhook.key') },
    server: { host: '127.0.0.1', port: ports.metrics },
    sanitize: { secretHashKeyFile: join(ks, 'secret-hash-key') },
    // A stable identity per replica slot: a restarted replica takes its own lease back at once.
    // The default lease (15 s, renew deadline 10 s): the shared instance serves every spec, and with
    // 6 s (deadline 4 s) it lost its lease under the full suite's load (two renewals over 4 s on
    // 12-07), fencing its queues mid-spec. Specs about leases run instances with short ones.
    leaderElection: { identity: `dev-${replica}`, leaseDurationMs: 15_000, renewIntervalMs: 2000 },
    peers: { secretFile: join(ks, 'peer-secret'), static: peers, caFile: cp.caFile, pullIntervalMs: 3000 },
    // Short, so that resource types added later (CRDs) are picked up quickly on the local stack.
    customResources: { enabled: true, discoveryIntervalMs: 2000 },
  };
}

async function upKubescribe(dir: string, state: StackState, cp: ControlPlaneInfo, env: StackEnv, log: (m: string) => void, replicas: number): Promise<NonNullable<StackEnv['kubescribe']>> {
  const ks = join(dir, 'kubescribe');
  await mkdir(ks, { recursive: true });
  const ca = { cert: cp.caFile, key: join(dir, 'pki', 'ca.key') };
  await ensureCert(join(dir, 'pki'), ca, { name: 'webhook', commonName: 'kubescribe-webhook', usage: 'server', ips: ['127.0.0.1'], dnsNames: ['localhost'] });
  await writeFile(join(ks, 'git-username'), state.git.username, { mode: 0o600 });
  await writeFile(join(ks, 'git-password'), state.git.password, { mode: 0o600 });
  if (!existsSync(join(ks, 'secret-hash-key'))) await writeFile(join(ks, 'secret-hash-key'), randomBytes(32).toString('hex'), { mode: 0o600 });
  if (!existsSync(join(ks, 'peer-secret'))) await writeFile(join(ks, 'peer-secret'), randomBytes(24).toString('hex'), { mode: 0o600 });
  const main = join(repoRoot, 'dist', 'kubescribe.mjs');
  if (!existsSync(main)) throw new Error(`kubescribe is not built (${main} is missing): run \`npm run build\` first`);
  const { stringify } = await import('yaml');

  // Ports per replica slot (slot 0 keeps the ports of a single-replica stack).
  const slots = state.ports.replicas ?? [{ webhook: state.ports.webhook, metrics: state.ports.metrics }];
  while (slots.length < replicas) slots.push({ webhook: await freePort(), metrics: await freePort() });
  state.ports.replicas = slots;
  const several = replicas > 1;
  if (several && !state.ports.proxy) state.ports.proxy = await freePort();
  const webhookPort = several ? (state.ports.proxy as number) : (slots[0] as { webhook: number }).webhook;
  // Registered before kubescribe starts (failurePolicy Ignore); kubescribe then keeps its rules.
  await registerWebhook(cp, webhookPort);

  if (several && !isRunning(state.processes.proxy)) {
    const backends = slots.slice(0, replicas).map((sl) => `127.0.0.1:${sl.webhook}`).join(',');
    log(`starting the round-robin proxy on 127.0.0.1:${webhookPort} → ${backends}`);
    state.processes.proxy = startDetached(process.execPath, ['--import', 'tsx', join(repoRoot, 'e2e', 'stack', 'tcp-proxy.ts'), '--port', String(webhookPort), '--backends', backends], { log: join(dir, 'proxy.log'), marker: state.marker, cwd: repoRoot });
  }
  const procs = state.processes.replicas ?? [state.processes.kubescribe];
  const out: Array<{ pid: number; metricsUrl: string; log: string }> = [];
  for (let i = 0; i < replicas; i++) {
    const sl = slots[i] as { webhook: number; metrics: number };
    const peers = several ? slots.slice(0, replicas).filter((_, j) => j !== i).map((p) => `https://127.0.0.1:${p.webhook}`) : [];
    const settingsFile = join(ks, i === 0 ? 'settings.yaml' : `settings-${i}.yaml`);
    await writeFile(settingsFile, stringify(kubescribeSettings(dir, state, cp, env.git.url, i, peers)));
    const logFile = join(dir, i === 0 ? 'kubescribe.log' : `kubescribe-${i}.log`);
    let proc = procs[i];
    if (!proc || !isRunning(proc)) {
      log(`starting kubescribe${several ? ` replica ${i}` : ''} (webhook https://127.0.0.1:${sl.webhook}, metrics http://127.0.0.1:${sl.metrics})`);
      proc = startDetached(process.execPath, [main, 'run', '--settings', settingsFile], { log: logFile, marker: state.marker, cwd: repoRoot });
      procs[i] = proc;
      state.processes.replicas = procs;
      state.processes.kubescribe = procs[0];
      await writeState(dir, state);
    }
    out.push({ pid: proc.pid, metricsUrl: `http://127.0.0.1:${sl.metrics}/metrics`, log: logFile });
  }
  const leader = await waitFor('kubescribe /readyz', async () => {
    for (const [i, r] of out.entries()) {
      if (!isRunning(procs[i])) throw new Error(`kubescribe exited; see ${r.log}`);
    }
    const states = await Promise.all(out.map(async (r) => {
      const res = await fetch(r.metricsUrl.replace(/metrics$/, 'readyz'));
      const body = (await res.json()) as { leader?: boolean; synced?: boolean };
      return { ok: res.status === 200 && body.synced === true, leader: body.leader === true };
    }));
    return states.every((x) => x.ok) && states.some((x) => x.leader);
  }, 90_000, 100).then(async () => {
    for (const [i, r] of out.entries()) {
      const body = (await (await fetch(r.metricsUrl.replace(/metrics$/, 'readyz'))).json()) as { leader?: boolean };
      if (body.leader) return i;
    }
    return 0;
  });
  const lead = out[leader] as { pid: number; metricsUrl: string; log: string };
  return {
    metricsUrl: lead.metricsUrl, pid: lead.pid, webhookUrl: `https://127.0.0.1:${webhookPort}/admission`,
    settings: join(ks, 'settings.yaml'), dataDir: join(ks, 'data'), log: lead.log,
    replicas: out.map((r) => ({ pid: r.pid, metricsUrl: r.metricsUrl })),
  };
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
  // kubescribe keeps the rules; register only when missing or pointing elsewhere.
  const existing = await kubectl(cp, 'admin', ['get', 'validatingwebhookconfiguration', 'kubescribe', '-o', 'json']).catch(() => '');
  if (existing.includes(`"url": "https://127.0.0.1:${port}/admission"`)) return;
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
    // The node first: its pods are deleted through the apiserver while the kubelet still runs.
    const env = existsSync(join(dir, 'env.json')) ? loadEnv(join(dir, 'env.json')) : undefined;
    const cp = env && { server: env.apiserver.server, caFile: env.apiserver.caFile, binDir: dirname(env.bin.kscp), kubeconfigs: env.kubeconfigs } as unknown as ControlPlaneInfo;
    await downNode(dir, state.marker, cp, log);
    const all: Array<[string, ProcessRecord | undefined]> = [
      ...(state.processes.replicas ?? [state.processes.kubescribe]).map((r, i): [string, ProcessRecord | undefined] => [`kubescribe ${i}`, r]),
      ['proxy', state.processes.proxy], ['git', state.processes.git], ['ssh', state.processes.ssh],
      ['kube-scheduler', state.processes.scheduler], ['kube-controller-manager', state.processes.controllerManager], ['controlplane', state.processes.controlplane],
    ];
    for (const [name, rec] of all) {
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
