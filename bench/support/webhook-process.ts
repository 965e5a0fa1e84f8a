// Starts bench/support/webhook-server.ts in a child process and talks to it over IPC; builds the
// AdmissionReview the webhook benchmarks send, and a serving certificate for TLS runs.
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureCA, ensureCert } from '../../e2e/stack/pki.ts';
import { deploymentFixture } from '../../src/sanitize/testing/fixtures.ts';
import type { ServerMode, ServerStats } from './webhook-server.ts';

const here = dirname(fileURLToPath(import.meta.url));

export interface ServerHandle {
  mode: ServerMode;
  url: string;
  pid: number;
  stats(): Promise<ServerStats>;
  /** Stats right after a full garbage collection: the memory the server retains. */
  gcStats(): Promise<ServerStats>;
  reset(): Promise<void>;
  sample(on: boolean): Promise<void>;
  stop(): Promise<void>;
}

export async function makeServingCert(dir: string): Promise<void> {
  const ca = await ensureCA(dir);
  await ensureCert(dir, ca, { name: 'webhook', commonName: 'kubescribe-webhook', usage: 'server', ips: ['127.0.0.1'], dnsNames: ['localhost'] });
}

/** o.nodeArgs: node's flags for the server's process (kubescribe's: the image's, e2e/stack/image-env.ts). */
export async function startServer(mode: ServerMode, o: { tls: boolean; maxEntries: number; certDir: string; cpuProfileDir?: string; nodeArgs?: string[] }): Promise<ServerHandle> {
  const child: ChildProcess = fork(join(here, 'webhook-server.ts'), [mode, o.tls ? 'tls' : 'plain', String(o.maxEntries), o.certDir], {
    execArgv: [...(o.nodeArgs ?? []), '--import', 'tsx', '--expose-gc', ...(o.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(o.cpuProfileDir, mode)}`] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = <T>(type: string, extra: Record<string, unknown> = {}): Promise<T> => new Promise((resolve, reject) => {
    const onMessage = (m: { type: string; stats?: ServerStats }): void => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve((m.stats ?? undefined) as T);
    };
    const onExit = (code: number | null): void => reject(new Error(`webhook server (${mode}) exited with ${code}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ type, ...extra });
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`webhook server (${mode}) exited with ${code} before listening`)));
    child.on('message', (m: { type: string; port?: number }) => { if (m.type === 'listening') resolve(m.port ?? 0); });
  });
  return {
    mode,
    url: `${o.tls ? 'https' : 'http'}://127.0.0.1:${port}/admission`,
    pid: child.pid ?? 0,
    stats: () => ask<ServerStats>('stats'),
    gcStats: () => ask<ServerStats>('gc-stats'),
    reset: () => ask<void>('reset'),
    sample: (on) => ask<void>('sample', { on }),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * An UPDATE AdmissionReview of a ~10 KB Deployment (object + oldObject, as the apiserver sends it).
 * With `unique`, `[<id>]` marks where uniqueRequests() puts a number of its own per request: a
 * new request uid and old resourceVersion, so every request records under a key of its own (as
 * real traffic does).
 */
export function reviewBody(unique: boolean): string {
  const object = deploymentFixture();
  const oldObject = deploymentFixture();
  (oldObject.spec as { replicas: number }).replicas = 2;
  if (unique) (oldObject.metadata as { resourceVersion: string }).resourceVersion = '[<id>]';
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: unique ? 'req-[<id>]' : 'req-1',
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      requestKind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      requestResource: { group: 'apps', version: 'v1', resource: 'deployments' },
      name: object.metadata?.name,
      namespace: object.metadata?.namespace,
      operation: 'UPDATE',
      userInfo: { username: 'alice', uid: 'alice-uid', groups: ['devs', 'system:authenticated'] },
      object,
      oldObject,
      dryRun: false,
      options: { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl-edit' },
    },
  });
}

/**
 * autocannon `requests` giving each request its own id in place of `[<id>]` (its idReplacement
 * assumes ids of a fixed length and so sends a wrong Content-Length).
 */
export function uniqueRequests(template: string): Array<{ setupRequest: (req: { body?: string | Buffer }) => { body?: string | Buffer } }> {
  const parts = template.split('[<id>]');
  let n = 0;
  const prefix = `${process.pid.toString(36)}-${Date.now().toString(36)}-`;
  return [{ setupRequest: (req) => { const id = prefix + (n++).toString(36); return { ...req, body: parts.join(id) }; } }];
}
