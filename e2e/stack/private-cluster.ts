// A control plane of its own for a spec that breaks the apiserver: its own folder under the stack
// dir, its own PKI, ports and etcd data, the same users and RBAC as the shared one, and its own
// kube-controller-manager (no scheduler: no node ever runs its pods). The apiserver
// (kscp: etcd embedded) can be stopped and started again on the same data and ports. A kubescribe
// instance runs against it like instance.ts runs against the shared one: own Git server, repo,
// data dir, webhook port and ValidatingWebhookConfiguration (caBundle = this cluster's CA).
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { mkdtemp } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { bootstrapCluster, kubectl as kubectlAs, prepareControlPlane, startControlPlane, waitReady, type ControlPlaneInfo, type ControlPlaneLayout } from './control-plane.ts';
import { startControllerManager, waitControllersActing } from './controllers.ts';
import type { StackEnv } from './env.ts';
import { startInstance, type Instance, type InstanceOptions } from './instance.ts';
import { isRunning, killNow, sleep, stopProcess, waitFor, type ProcessRecord } from './processes.ts';

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

export async function startPrivateCluster(env: StackEnv, name: string, opts: { apiserverArgs?: string[] } = {}): Promise<PrivateCluster> {
  const dir = await mkdtemp(join(env.stackDir, `cluster-${name}-`));
  const marker = `kubescribe-cluster-${randomBytes(6).toString('hex')}`;
  // Ports below the ephemeral range: the apiserver and etcd are restarted on the same ports, and a
  // port from freePort() may meanwhile be taken as the local port of some outgoing connection.
  const layout: ControlPlaneLayout = { dir, ports: { api: await stablePort(), etcdClient: await stablePort(), etcdPeer: await stablePort() }, apiserverArgs: opts.apiserverArgs };
  const info = await prepareControlPlane(layout, dirname(env.bin.kscp));
  let apiserver: ProcessRecord | undefined;
  let controllerManager: ProcessRecord | undefined;
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
    startInstance: (o) => startInstance(env, o, {
      dir: cluster.dir, caFile: cluster.info.caFile, kubescribeKubeconfig: cluster.info.kubeconfigs.kubescribe ?? '',
      kubectl: (user, args, stdin) => cluster.kubectl(user, args, stdin), available: () => cluster.apiserverRunning(),
    }).then((inst) => { instances.push(inst); return inst; }),
    async close() {
      for (const inst of instances) await inst.close().catch(() => undefined);
      await stopProcess(controllerManager, 15_000);
      await stopProcess(apiserver, 15_000);
    },
  };
  try {
    await cluster.startApiserver();
    // Its controllers run beside it as in the shared stack (the edit/view aggregation among them).
    controllerManager = startControllerManager(dir, info, marker);
    await bootstrapCluster(info);
    await waitControllersActing(info, controllerManager);
  } catch (err) {
    await stopProcess(controllerManager, 15_000); // never leave a half-started control plane behind
    await stopProcess(apiserver, 15_000);
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
