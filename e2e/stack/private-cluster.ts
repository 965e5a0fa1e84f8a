// A control plane of its own for a spec that breaks the apiserver: its own folder under the stack
// dir, its own PKI, ports and etcd data, the same users and RBAC as the shared one. The apiserver
// (kscp: etcd embedded) can be stopped and started again on the same data and ports. A kubescribe
// instance runs against it like instance.ts runs against the shared one: own Git server, repo,
// data dir, webhook port and ValidatingWebhookConfiguration (caBundle = this cluster's CA).
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { bootstrapCluster, kubectl as kubectlAs, prepareControlPlane, startControlPlane, waitReady, type ControlPlaneInfo, type ControlPlaneLayout } from './control-plane.ts';
import type { StackEnv } from './env.ts';
import type { Instance, InstanceOptions } from './instance.ts';
import { ensureCert } from './pki.ts';
import { freePort, isRunning, killNow, sleep, startDetached, stopProcess, waitFor, type ProcessRecord } from './processes.ts';
import { repoRoot, webhookConfiguration } from './stack.ts';

export interface PrivateCluster {
  dir: string;
  info: ControlPlaneInfo;
  /** kubectl against this cluster as one of its users (admin, alice, bob, carol, kubescribe). */
  kubectl(user: string, args: string[], stdin?: string): Promise<string>;
  apiserverRunning(): boolean;
  /** SIGTERM (SIGKILL after a grace period) to the apiserver + embedded etcd. */
  stopApiserver(): Promise<void>;
  /** kill -9 of the apiserver + embedded etcd. */
  killApiserver(): void;
  /** Starts the apiserver on the same etcd data and ports; resolves when /readyz answers 200. */
  startApiserver(): Promise<void>;
  /** A kubescribe instance (own Git server, repo, data dir, webhook) recording this cluster. */
  startInstance(o: InstanceOptions): Promise<Instance>;
  /** Stops every instance started here, then the apiserver. */
  close(): Promise<void>;
}

export async function startPrivateCluster(env: StackEnv, name: string): Promise<PrivateCluster> {
  const dir = await mkdtemp(join(env.stackDir, `cluster-${name}-`));
  const marker = `kubescribe-cluster-${randomBytes(6).toString('hex')}`;
  // Ports below the ephemeral range: the apiserver and etcd are restarted on the same ports, and a
  // port from freePort() may meanwhile be taken as the local port of some outgoing connection.
  const layout: ControlPlaneLayout = { dir, ports: { api: await stablePort(), etcdClient: await stablePort(), etcdPeer: await stablePort() } };
  const info = await prepareControlPlane(layout, dirname(env.bin.kscp));
  let apiserver: ProcessRecord | undefined;
  const instances: Instance[] = [];

  const cluster: PrivateCluster = {
    dir,
    info,
    kubectl: (user, args, stdin) => kubectlAs(info, user, args, stdin),
    apiserverRunning: () => isRunning(apiserver),
    async stopApiserver() { await stopProcess(apiserver, 15_000); },
    killApiserver() { killNow(apiserver); },
    async startApiserver() {
      // A process killed a moment ago may still hold its sockets after it stops counting as running.
      if (!isRunning(apiserver)) await waitFor('the apiserver ports to be free', () => allFree(Object.values(layout.ports)), 30_000, 100);
      const proc = apiserver && isRunning(apiserver) ? apiserver : startControlPlane(layout, info, marker);
      apiserver = proc;
      const ready = { done: false };
      try {
        await Promise.race([waitReady(info, proc, 120_000), exited(proc, ready)]);
      } finally {
        ready.done = true;
      }
    },
    startInstance: (o) => startInstanceOn(env, cluster, o).then((inst) => { instances.push(inst); return inst; }),
    async close() {
      for (const inst of instances) await inst.close().catch(() => undefined);
      await stopProcess(apiserver, 15_000);
    },
  };
  try {
    await cluster.startApiserver();
    await bootstrapCluster(info);
  } catch (err) {
    await stopProcess(apiserver, 15_000); // never leave a half-started control plane behind
    throw err;
  }
  return cluster;
}

/** Rejects as soon as the process is gone (a failed start), so a caller does not wait for a timeout. */
async function exited(proc: ProcessRecord, ready: { done: boolean }): Promise<void> {
  while (!ready.done && isRunning(proc)) await sleep(200);
  if (!ready.done) throw new Error(`the apiserver exited; see ${proc.log}`);
}

function portFree(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** True when every port can be listened on (checked one after the other). */
export async function allFree(ports: number[]): Promise<boolean> {
  for (const port of ports) if (!(await portFree(port))) return false;
  return true;
}

/** A free port below the ephemeral range, which no outgoing connection takes meanwhile. */
async function stablePort(): Promise<number> {
  const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  for (;;) {
    const port = randomInt(Math.min(10_000, low - 1000), low);
    if (await portFree(port)) return port;
  }
}

const RECORDED = [
  { group: '', version: 'v1', resource: 'configmaps' }, { group: '', version: 'v1', resource: 'secrets' },
  { group: '', version: 'v1', resource: 'services' }, { group: 'apps', version: 'v1', resource: 'deployments' },
  { group: 'apps', version: 'v1', resource: 'deployments/scale' },
];

/** instance.ts's startInstance, pointed at a private cluster (kubeconfig, CA, webhook registration). */
async function startInstanceOn(env: StackEnv, cluster: PrivateCluster, o: InstanceOptions): Promise<Instance> {
  const dir = await mkdtemp(join(cluster.dir, `instance-${o.name}-`));
  const marker = `kubescribe-instance-${randomBytes(6).toString('hex')}`;
  const ports = { git: await freePort(), webhook: await freePort(), metrics: await freePort() };
  const git = { username: 'scribe', password: randomBytes(10).toString('hex'), root: join(dir, 'git') };
  await mkdir(git.root, { recursive: true });
  const { createBareRepo } = await import('./git-server.ts');
  await createBareRepo(git.root, 'audit', { defaultBranch: 'main' });
  const pki = join(cluster.dir, 'pki');
  const cert = await ensureCert(pki, { cert: cluster.info.caFile, key: join(pki, 'ca.key') }, { name: 'webhook', commonName: 'kubescribe-webhook', usage: 'server', ips: ['127.0.0.1'], dnsNames: ['localhost'] });
  await writeFile(join(dir, 'git-username'), git.username, { mode: 0o600 });
  await writeFile(join(dir, 'git-password'), git.password, { mode: 0o600 });
  await writeFile(join(dir, 'secret-hash-key'), randomBytes(32).toString('hex'), { mode: 0o600 });
  const gitUrl = `http://127.0.0.1:${ports.git}/audit.git`;
  const settings: Record<string, unknown> = {
    dataDir: join(dir, 'data'),
    logLevel: 'info',
    kubernetes: { kubeconfig: cluster.info.kubeconfigs.kubescribe },
    git: { url: gitUrl, branch: 'main', usernameFile: join(dir, 'git-username'), passwordFile: join(dir, 'git-password'), pushIntervalMs: 300 },
    watch: { resources: o.resources ?? ['configmaps', 'secrets', 'services', 'deployments.apps'], namespaces: { include: o.namespaces, exclude: [] }, backoffMs: 200, maxBackoffMs: 2000 },
    webhook: { host: '127.0.0.1', port: ports.webhook, tlsCertFile: cert.cert, tlsKeyFile: cert.key },
    server: { host: '127.0.0.1', port: ports.metrics },
    sanitize: { secretHashKeyFile: join(dir, 'secret-hash-key') },
    // As instance.ts: the instance acts on its settings only, and keeps its own webhook registration.
    customResources: { enabled: false },
    leaderElection: { enabled: false },
  };
  const vwcName = `kubescribe-${o.name}-${marker.slice(-6)}`;
  (settings.webhook as Record<string, unknown>).configurationName = vwcName;
  o.settings?.(settings);
  const settingsFile = join(dir, 'settings.yaml');
  await writeFile(settingsFile, stringify(settings));
  const vwc = webhookConfiguration(vwcName, `https://127.0.0.1:${ports.webhook}/admission`, readFileSync(cluster.info.caFile).toString('base64'), RECORDED, []) as { webhooks: Array<Record<string, unknown>> };
  vwc.webhooks[0]!.namespaceSelector = { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: o.namespaces }] };
  await cluster.kubectl('admin', ['apply', '-f', '-'], JSON.stringify(vwc));

  let gitProc: ProcessRecord | undefined;
  let ksProc: ProcessRecord | undefined;
  const log = join(dir, 'kubescribe.log');
  const inst: Instance = {
    name: o.name, dir, settingsFile, log,
    git: { url: gitUrl, root: git.root, repo: join(git.root, 'audit.git'), username: git.username, password: git.password, port: ports.git },
    metricsUrl: `http://127.0.0.1:${ports.metrics}/metrics`,
    async startGit() {
      if (isRunning(gitProc)) return;
      gitProc = startDetached(process.execPath, ['--import', 'tsx', join(repoRoot, 'e2e', 'stack', 'git-server.ts'), '--root', git.root, '--user', git.username, '--password', git.password, '--port', String(ports.git)],
        { log: join(dir, 'git-server.log'), marker, cwd: repoRoot });
      await waitFor('the instance Git server', async () => (await fetch(`http://127.0.0.1:${ports.git}/audit.git/info/refs?service=git-upload-pack`)).status === 401, 30_000, 100);
    },
    async stopGit() { await stopProcess(gitProc, 5000); },
    async startKubescribe() {
      if (!isRunning(ksProc)) {
        ksProc = startDetached(process.execPath, ['--enable-source-maps', join(repoRoot, 'dist', 'main.js'), 'run', '--settings', settingsFile], { log, marker, cwd: repoRoot });
      }
      const p = ksProc;
      await waitFor(`instance ${o.name} /readyz (log ${log})`, async () => {
        if (!isRunning(p)) throw new Error(`kubescribe exited; see ${log}`);
        return (await fetch(`http://127.0.0.1:${ports.metrics}/readyz`)).status === 200;
      }, 60_000, 100);
    },
    killKubescribe() { killNow(ksProc); },
    async stopKubescribe() { await stopProcess(ksProc); },
    kubescribeRunning() { return isRunning(ksProc); },
    async close() {
      await stopProcess(ksProc);
      await stopProcess(gitProc, 5000);
      if (cluster.apiserverRunning()) await cluster.kubectl('admin', ['delete', 'validatingwebhookconfiguration', vwcName, '--ignore-not-found']).catch(() => undefined);
    },
  };
  await inst.startGit();
  return inst;
}
