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
import { freePort, isRunning, killNow, startDetached, stopProcess, waitFor, type ProcessRecord } from './processes.ts';
import { repoRoot, webhookConfiguration } from './stack.ts';

export interface InstanceOptions {
  name: string;
  namespaces: string[];
  resources?: string[];
  settings?: (s: Record<string, unknown>) => void;
}

export interface Instance {
  name: string;
  dir: string;
  git: { url: string; root: string; repo: string; username: string; password: string; port: number };
  metricsUrl: string;
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

export async function startInstance(env: StackEnv, o: InstanceOptions): Promise<Instance> {
  const dir = await mkdtemp(join(env.stackDir, `instance-${o.name}-`));
  const marker = `kubescribe-instance-${randomBytes(6).toString('hex')}`;
  const ports = { git: await freePort(), webhook: await freePort(), metrics: await freePort() };
  const git = { username: 'scribe', password: randomBytes(10).toString('hex'), root: join(dir, 'git') };
  await mkdir(git.root, { recursive: true });
  const { createBareRepo } = await import('./git-server.ts');
  await createBareRepo(git.root, 'audit', { defaultBranch: 'main' });
  const pki = join(env.stackDir, 'pki');
  const cert = await ensureCert(pki, { cert: env.apiserver.caFile, key: join(pki, 'ca.key') }, { name: 'webhook', commonName: 'kubescribe-webhook', usage: 'server', ips: ['127.0.0.1'], dnsNames: ['localhost'] });
  await writeFile(join(dir, 'git-username'), git.username, { mode: 0o600 });
  await writeFile(join(dir, 'git-password'), git.password, { mode: 0o600 });
  await writeFile(join(dir, 'secret-hash-key'), randomBytes(32).toString('hex'), { mode: 0o600 });
  const gitUrl = `http://127.0.0.1:${ports.git}/audit.git`;
  const settings: Record<string, unknown> = {
    dataDir: join(dir, 'data'),
    logLevel: 'info',
    kubernetes: { kubeconfig: env.kubeconfigs.kubescribe },
    git: { url: gitUrl, branch: 'main', usernameFile: join(dir, 'git-username'), passwordFile: join(dir, 'git-password'), pushIntervalMs: 300 },
    watch: { resources: o.resources ?? ['configmaps', 'secrets', 'services', 'deployments.apps'], namespaces: { include: o.namespaces, exclude: [] }, backoffMs: 200, maxBackoffMs: 2000 },
    webhook: { host: '127.0.0.1', port: ports.webhook, tlsCertFile: cert.cert, tlsKeyFile: cert.key },
    server: { host: '127.0.0.1', port: ports.metrics },
    sanitize: { secretHashKeyFile: join(dir, 'secret-hash-key') },
    // The shared stack's kubescribe acts on the custom resources; an instance only on its settings.
    customResources: { enabled: false },
    leaderElection: { enabled: false },
  };
  const vwcName = `kubescribe-${o.name}-${marker.slice(-6)}`;
  (settings.webhook as Record<string, unknown>).configurationName = vwcName;
  o.settings?.(settings);
  const settingsFile = join(dir, 'settings.yaml');
  await writeFile(settingsFile, stringify(settings));
  const cp = { binDir: env.bin.kubectl.replace(/\/kubectl$/, ''), kubeconfigs: env.kubeconfigs } as unknown as ControlPlaneInfo;
  const vwc = webhookConfiguration(vwcName, `https://127.0.0.1:${ports.webhook}/admission`, readFileSync(env.apiserver.caFile).toString('base64'), [
    { group: '', version: 'v1', resource: 'configmaps' }, { group: '', version: 'v1', resource: 'secrets' },
    { group: '', version: 'v1', resource: 'services' }, { group: 'apps', version: 'v1', resource: 'deployments' },
    { group: 'apps', version: 'v1', resource: 'deployments/scale' },
  ], []) as { webhooks: Array<Record<string, unknown>> };
  vwc.webhooks[0]!.namespaceSelector = { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: o.namespaces }] };
  await kubectlAs(cp, 'admin', ['apply', '-f', '-'], JSON.stringify(vwc));

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
      await kubectlAs(cp, 'admin', ['delete', 'validatingwebhookconfiguration', vwcName, '--ignore-not-found']).catch(() => undefined);
    },
  };
  await inst.startGit();
  return inst;
}
