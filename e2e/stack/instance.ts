// A kubescribe of its own for a spec that breaks things (kills it, stops its Git server, floods
// it): its own Git server process, repo, data dir, webhook port and ValidatingWebhookConfiguration,
// recording only the namespaces the spec names, against the shared apiserver. Specs that fault
// their own instance never disturb the specs running beside them on the shared stack.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { kubectl as kubectlAs, type ControlPlaneInfo } from './control-plane.ts';
import type { StackEnv } from './env.ts';
import { ensureCert } from './pki.ts';
import { freePort, isRunning, killNow, sleep, startDetached, stopProcess, waitFor, type ProcessRecord } from './processes.ts';
import { imageNodeArgs, imageRuntimeEnv } from './image-env.ts';
import { repoRoot, webhookConfiguration } from './stack.ts';

export interface InstanceOptions {
  name: string;
  namespaces: string[];
  resources?: string[];
  settings?: (s: Record<string, unknown>) => void;
  /** Per replica, after `settings` (e.g. each replica's own route to the API server). */
  replicaSettings?: (index: number, s: Record<string, unknown>) => void;
  /** Several replicas behind a round-robin TCP proxy, with leader election and peers (default 1). */
  replicas?: number;
  /** The kubescribe program to run (default dist/kubescribe.mjs): a benchmark's baseline build. */
  program?: string;
  /** Run with the image's malloc settings (default true; false: glibc's own, for a before/after). */
  imageEnv?: boolean;
  /** node's flags before the program (default: the image's ENTRYPOINT's, e2e/stack/image-env.ts). */
  nodeArgs?: string[];
}

export interface Replica {
  index: number;
  metricsUrl: string;
  webhookPort: number;
  log: string;
  pid(): number | undefined;
  start(): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
  running(): boolean;
  /** GET /readyz: whether it is ready and whether it leads. */
  state(): Promise<{ ready: boolean; leader: boolean }>;
}

export interface Instance {
  name: string;
  dir: string;
  git: { url: string; root: string; repo: string; username: string; password: string; port: number };
  metricsUrl: string;
  /** Where the API server sends admission reviews: the replica's webhook, or the proxy in front of several. */
  webhookUrl: string;
  settingsFile: string;
  log: string;
  /** Starts (or restarts) kubescribe on the same data; resolves when /readyz answers 200. */
  startKubescribe(): Promise<void>;
  killKubescribe(): void;
  stopKubescribe(): Promise<void>;
  startGit(): Promise<void>;
  stopGit(): Promise<void>;
  kubescribeRunning(): boolean;
  close(): Promise<void>;
}

/** What an instance of several replicas adds. */
export interface ReplicaControls {
  replicas: Replica[];
  /** The index of the replica that leads now, if any. */
  leader(): Promise<number | undefined>;
  peerSecret: string;
}

/** The cluster an instance records: the shared stack's (default) or a private one (private-cluster.ts). */
export interface InstanceTarget {
  /** Where the instance's folder is made; `pki` inside holds the cluster's CA (ca.crt, ca.key). */
  dir: string;
  caFile: string;
  kubescribeKubeconfig: string;
  kubectl(user: string, args: string[], stdin?: string): Promise<string>;
  /** False while the cluster is down (close() then skips removing the webhook registration). */
  available?: () => boolean;
}

export function stackTarget(env: StackEnv): InstanceTarget {
  const cp = { binDir: env.bin.kubectl.replace(/\/kubectl$/, ''), kubeconfigs: env.kubeconfigs } as unknown as ControlPlaneInfo;
  return { dir: env.stackDir, caFile: env.apiserver.caFile, kubescribeKubeconfig: env.kubeconfigs.kubescribe, kubectl: (user, args, stdin) => kubectlAs(cp, user, args, stdin) };
}

export async function startInstance(env: StackEnv, o: InstanceOptions, target: InstanceTarget = stackTarget(env)): Promise<Instance & ReplicaControls> {
  const dir = await mkdtemp(join(target.dir, `instance-${o.name}-`));
  const marker = `kubescribe-instance-${randomBytes(6).toString('hex')}`;
  const count = o.replicas ?? 1;
  const ports = { git: await freePort(), webhook: await freePort(), metrics: await freePort(), proxy: count > 1 ? await freePort() : 0 };
  const replicaPorts = [{ webhook: ports.webhook, metrics: ports.metrics }];
  while (replicaPorts.length < count) replicaPorts.push({ webhook: await freePort(), metrics: await freePort() });
  const peerSecret = randomBytes(20).toString('hex');
  const git = { username: 'scribe', password: randomBytes(10).toString('hex'), root: join(dir, 'git') };
  await mkdir(git.root, { recursive: true });
  const { createBareRepo } = await import('./git-server.ts');
  await createBareRepo(git.root, 'audit', { defaultBranch: 'main' });
  const pki = join(target.dir, 'pki');
  const cert = await ensureCert(pki, { cert: target.caFile, key: join(pki, 'ca.key') }, { name: 'webhook', commonName: 'kubescribe-webhook', usage: 'server', ips: ['127.0.0.1'], dnsNames: ['localhost'] });
  await writeFile(join(dir, 'git-username'), git.username, { mode: 0o600 });
  await writeFile(join(dir, 'git-password'), git.password, { mode: 0o600 });
  await writeFile(join(dir, 'secret-hash-key'), randomBytes(32).toString('hex'), { mode: 0o600 });
  await writeFile(join(dir, 'peer-secret'), peerSecret, { mode: 0o600 });
  const gitUrl = `http://127.0.0.1:${ports.git}/audit.git`;
  const settings: Record<string, unknown> = {
    dataDir: join(dir, 'data'),
    logLevel: 'info',
    kubernetes: { kubeconfig: target.kubescribeKubeconfig },
    git: { url: gitUrl, branch: 'main', usernameFile: join(dir, 'git-username'), passwordFile: join(dir, 'git-password'), pushIntervalMs: 300 },
    watch: { resources: o.resources ?? ['configmaps', 'secrets', 'services', 'deployments.apps'], namespaces: { include: o.namespaces, exclude: [] }, backoffMs: 200, maxBackoffMs: 2000 },
    webhook: { host: '127.0.0.1', port: ports.webhook, tlsCertFile: cert.cert, tlsKeyFile: cert.key },
    server: { host: '127.0.0.1', port: ports.metrics },
    sanitize: { secretHashKeyFile: join(dir, 'secret-hash-key') },
    // The shared stack's kubescribe acts on the custom resources; an instance only on its settings.
    customResources: { enabled: false },
    leaderElection: count > 1
      ? { enabled: true, leaseName: `instance-${o.name}-${marker.slice(-6)}`, leaseDurationMs: 4000, renewIntervalMs: 1000 }
      : { enabled: false },
  };
  const vwcName = `kubescribe-${o.name}-${marker.slice(-6)}`;
  (settings.webhook as Record<string, unknown>).configurationName = vwcName;
  o.settings?.(settings);
  const settingsFile = join(dir, 'settings.yaml');
  const settingsFiles: string[] = [];
  const runtimeEnv = o.imageEnv === false ? {} : imageRuntimeEnv(repoRoot);
  const nodeArgs = o.nodeArgs ?? imageNodeArgs(repoRoot);
  for (let i = 0; i < count; i++) {
    const file = i === 0 ? settingsFile : join(dir, `settings-${i}.yaml`);
    const rp = replicaPorts[i] as { webhook: number; metrics: number };
    const own = structuredClone(settings) as Record<string, Record<string, unknown>>;
    own.webhook = { ...own.webhook, port: rp.webhook };
    own.server = { ...own.server, port: rp.metrics };
    if (i > 0) (own as Record<string, unknown>).dataDir = join(dir, `data-${i}`);
    if (count > 1) {
      (own.leaderElection as Record<string, unknown>).identity = `${o.name}-${i}`;
      own.peers = { secretFile: join(dir, 'peer-secret'), static: replicaPorts.filter((_, j) => j !== i).map((p) => `https://127.0.0.1:${p.webhook}`), caFile: target.caFile, pullIntervalMs: 1000 };
    }
    o.replicaSettings?.(i, own);
    await writeFile(file, stringify(own));
    settingsFiles.push(file);
  }
  const vwc = webhookConfiguration(vwcName, `https://127.0.0.1:${count > 1 ? ports.proxy : ports.webhook}/admission`, readFileSync(target.caFile).toString('base64'), [
    { group: '', version: 'v1', resource: 'configmaps' }, { group: '', version: 'v1', resource: 'secrets' },
    { group: '', version: 'v1', resource: 'services' }, { group: 'apps', version: 'v1', resource: 'deployments' },
    { group: 'apps', version: 'v1', resource: 'deployments/scale' },
  ], []) as { webhooks: Array<Record<string, unknown>> };
  vwc.webhooks[0]!.namespaceSelector = { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: o.namespaces }] };
  await target.kubectl('admin', ['apply', '-f', '-'], JSON.stringify(vwc));

  let gitProc: ProcessRecord | undefined;
  let proxyProc: ProcessRecord | undefined;
  const procs: Array<ProcessRecord | undefined> = [];
  // Signalled to stop: a start right after a kill waits for the process to be gone first. SIGKILL
  // is delivered asynchronously, and a start that still saw the old process running did not start
  // a new one, then found it dead ("kubescribe exited"; git-store.e2e.ts failed so once).
  const signalled = new Set<number>();
  const killReplica = (p: ProcessRecord | undefined, signal: NodeJS.Signals = 'SIGKILL'): void => {
    if (!p || !isRunning(p)) return;
    signalled.add(p.pid);
    if (signal === 'SIGKILL') killNow(p);
    else process.kill(p.pid, signal);
  };
  const log = join(dir, 'kubescribe.log');
  const readyz = async (i: number): Promise<{ ready: boolean; leader: boolean }> => {
    const res = await fetch(`http://127.0.0.1:${(replicaPorts[i] as { metrics: number }).metrics}/readyz`);
    const body = (await res.json()) as { leader?: boolean; synced?: boolean };
    // Ready for a spec: serving the webhook and, on the leader, the pipeline synced.
    return { ready: res.status === 200 && body.synced === true, leader: body.leader === true };
  };
  const replicas: Replica[] = replicaPorts.map((rp, i) => {
    const rlog = i === 0 ? log : join(dir, `kubescribe-${i}.log`);
    return {
      index: i, metricsUrl: `http://127.0.0.1:${rp.metrics}/metrics`, webhookPort: rp.webhook, log: rlog,
      pid: () => procs[i]?.pid,
      running: () => isRunning(procs[i]),
      kill: (signal: NodeJS.Signals = 'SIGKILL') => killReplica(procs[i], signal),
      state: () => readyz(i),
      async start() {
        const prev = procs[i];
        if (prev && signalled.has(prev.pid)) {
          for (const end = Date.now() + 15_000; isRunning(prev) && Date.now() < end;) await sleep(20);
          signalled.delete(prev.pid);
        }
        if (!isRunning(procs[i])) {
          procs[i] = startDetached(process.execPath, [...nodeArgs, o.program ?? join(repoRoot, 'dist', 'kubescribe.mjs'), 'run', '--settings', settingsFiles[i] as string], { log: rlog, marker, cwd: repoRoot, env: runtimeEnv });
        }
        const p = procs[i];
        await waitFor(`instance ${o.name} replica ${i} /readyz (log ${rlog})`, async () => {
          if (!isRunning(p)) throw new Error(`kubescribe exited; see ${rlog}`);
          return (await readyz(i)).ready;
        }, 60_000, 100);
      },
    };
  });
  const inst: Instance & ReplicaControls = {
    name: o.name, dir, settingsFile, log,
    git: { url: gitUrl, root: git.root, repo: join(git.root, 'audit.git'), username: git.username, password: git.password, port: ports.git },
    metricsUrl: `http://127.0.0.1:${ports.metrics}/metrics`,
    webhookUrl: `https://127.0.0.1:${count > 1 ? ports.proxy : ports.webhook}/admission`,
    async startGit() {
      if (isRunning(gitProc)) return;
      gitProc = startDetached(process.execPath, ['--import', 'tsx', join(repoRoot, 'e2e', 'stack', 'git-server.ts'), '--root', git.root, '--user', git.username, '--password', git.password, '--port', String(ports.git)],
        { log: join(dir, 'git-server.log'), marker, cwd: repoRoot });
      await waitFor('the instance Git server', async () => (await fetch(`http://127.0.0.1:${ports.git}/audit.git/info/refs?service=git-upload-pack`)).status === 401, 30_000, 100);
    },
    async stopGit() { await stopProcess(gitProc, 5000); },
    replicas,
    peerSecret,
    async leader() {
      for (const r of replicas) {
        if (r.running() && (await r.state().catch(() => ({ leader: false }))).leader) return r.index;
      }
      return undefined;
    },
    async startKubescribe() {
      if (count > 1 && !isRunning(proxyProc)) {
        proxyProc = startDetached(process.execPath, ['--import', 'tsx', join(repoRoot, 'e2e', 'stack', 'tcp-proxy.ts'), '--port', String(ports.proxy), '--backends', replicaPorts.map((p) => `127.0.0.1:${p.webhook}`).join(',')],
          { log: join(dir, 'proxy.log'), marker, cwd: repoRoot });
      }
      await Promise.all(replicas.map((r) => r.start()));
      // Ready means: a leader whose watches have listed (a standby is ready as soon as it serves
      // the webhook), so a change made after this is a change, not part of the start-up snapshot.
      if (count > 1) {
        await waitFor(`instance ${o.name}: a ready leader`, async () => {
          for (const r of replicas) {
            const s = r.running() ? await r.state().catch(() => undefined) : undefined;
            if (s?.leader && s.ready) return true;
          }
          return false;
        }, 30_000, 100);
      }
    },
    killKubescribe() { for (const p of procs) killReplica(p); },
    async stopKubescribe() { await Promise.all(procs.map((p) => stopProcess(p))); },
    kubescribeRunning() { return procs.some((p) => isRunning(p)); },
    async close() {
      await Promise.all(procs.map((p) => stopProcess(p)));
      await stopProcess(proxyProc, 5000);
      await stopProcess(gitProc, 5000);
      if (target.available?.() !== false) await target.kubectl('admin', ['delete', 'validatingwebhookconfiguration', vwcName, '--ignore-not-found']).catch(() => undefined);
    },
  };
  await inst.startGit();
  return inst;
}
