// The local Kubernetes control plane: the kscp binary (embedded etcd + the real kube-apiserver,
// built once per machine by e2e/controlplane/build.sh), its PKI, the users admin (system:masters),
// alice, bob and carol (group `devs`, `edit` cluster-wide plus read on CRDs), and their kubeconfigs.
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { NODE } from './node-network.ts';
import { ensureCA, ensureCert, ensureServiceAccountKeys, type CertFiles } from './pki.ts';
import { startDetached, waitFor, type ProcessRecord } from './processes.ts';

const exec = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

export const USERS = ['admin', 'alice', 'bob', 'carol'] as const;
export type UserName = (typeof USERS)[number];

export interface ControlPlaneInfo {
  server: string;
  port: number;
  etcdClientPort: number;
  etcdPeerPort: number;
  binDir: string;
  caFile: string;
  kubeconfigs: Record<UserName, string> & Record<string, string>;
}

/** Builds (or finds in the cache) the control plane and helm; returns the folder with kscp and kubectl. */
export function ensureBinaries(): string {
  const res = spawnSync('bash', [join(here, '..', 'controlplane', 'build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (res.status !== 0) throw new Error(`building the local control plane failed (exit ${res.status}); see the output above`);
  return res.stdout.trim().split('\n').pop() ?? '';
}

export function kubeconfigYaml(server: string, caFile: string, user: string, creds: CertFiles): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: kubescribe-dev
  cluster:
    server: ${server}
    certificate-authority: ${caFile}
users:
- name: ${user}
  user:
    client-certificate: ${creds.cert}
    client-key: ${creds.key}
contexts:
- name: ${user}@kubescribe-dev
  context: { cluster: kubescribe-dev, user: ${user} }
current-context: ${user}@kubescribe-dev
`;
}

const RBAC = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: devs-edit }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: Group, name: devs }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: crd-reader }
rules:
- { apiGroups: [apiextensions.k8s.io], resources: [customresourcedefinitions], verbs: [get, list, watch] }
- { apiGroups: [""], resources: [namespaces], verbs: [get, list, watch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: devs-crd-reader }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: crd-reader }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: Group, name: devs }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: kubescribe }
rules:
- { apiGroups: ["*"], resources: ["*"], verbs: [get, list, watch] }
- { apiGroups: [admissionregistration.k8s.io], resources: [validatingwebhookconfigurations], verbs: [get, list, watch, create, update, patch] }
- { apiGroups: [coordination.k8s.io], resources: [leases], verbs: [get, list, watch, create, update, patch] }
- { apiGroups: [""], resources: [secrets], verbs: [create, update, patch] }
- { apiGroups: [kubescribe.dev], resources: [gitrepoconfigs/status, watchrules/status, clusterwatchrules/status], verbs: [get, update, patch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: kubescribe }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kubescribe }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:serviceaccount:kubescribe:kubescribe" }]
---
apiVersion: v1
kind: Namespace
metadata: { name: kubescribe }
`;

export interface ControlPlaneLayout {
  dir: string;
  ports: { api: number; etcdClient: number; etcdPeer: number };
  /** More kube-apiserver flags (a spec's own control plane, e.g. no watch cache). */
  apiserverArgs?: string[];
}

/** Makes PKI and kubeconfigs (idempotent: reused on restart) and returns what the stack needs. */
export async function prepareControlPlane(layout: ControlPlaneLayout, binDir: string): Promise<ControlPlaneInfo> {
  const pki = join(layout.dir, 'pki');
  await mkdir(pki, { recursive: true });
  const ca = await ensureCA(pki);
  await ensureCert(pki, ca, { name: 'apiserver', commonName: 'kube-apiserver', usage: 'server', ips: ['127.0.0.1', '10.0.0.1', NODE.gateway], dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'] });
  await ensureServiceAccountKeys(pki);
  // The apiserver's client certificate towards kubelets (logs, exec).
  await ensureCert(pki, ca, { name: 'apiserver-kubelet-client', commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'], usage: 'client' });
  const server = `https://127.0.0.1:${layout.ports.api}`;
  const kubeconfigs: Record<string, string> = {};
  const identities: Record<string, { cn: string; o: string[] }> = {
    admin: { cn: 'admin', o: ['system:masters'] },
    alice: { cn: 'alice', o: ['devs'] },
    bob: { cn: 'bob', o: ['devs'] },
    carol: { cn: 'carol', o: ['devs'] },
    kubescribe: { cn: 'system:serviceaccount:kubescribe:kubescribe', o: ['system:serviceaccounts', 'system:serviceaccounts:kubescribe'] },
    // The controllers (controllers.ts): the bootstrap RBAC already binds these users.
    'kube-controller-manager': { cn: 'system:kube-controller-manager', o: [] },
    'kube-scheduler': { cn: 'system:kube-scheduler', o: [] },
    // The node (node.ts), where the machine allows one: the Node authorizer knows it by this name.
    node: { cn: `system:node:${NODE.name}`, o: ['system:nodes'] },
    'kube-proxy': { cn: 'system:kube-proxy', o: [] },
  };
  await mkdir(join(layout.dir, 'kubeconfigs'), { recursive: true });
  for (const [user, id] of Object.entries(identities)) {
    const creds = await ensureCert(pki, ca, { name: `user-${user}`, commonName: id.cn, organizations: id.o, usage: 'client' });
    const file = join(layout.dir, 'kubeconfigs', `${user}.yaml`);
    await writeFile(file, kubeconfigYaml(server, ca.cert, user, creds), { mode: 0o600 });
    kubeconfigs[user] = resolve(file);
  }
  return {
    server, port: layout.ports.api, etcdClientPort: layout.ports.etcdClient, etcdPeerPort: layout.ports.etcdPeer,
    binDir, caFile: ca.cert, kubeconfigs: kubeconfigs as ControlPlaneInfo['kubeconfigs'],
  };
}

export function startControlPlane(layout: ControlPlaneLayout, info: ControlPlaneInfo, marker: string): ProcessRecord {
  const pki = join(layout.dir, 'pki');
  const args = [
    'serve', `--etcd-dir=${join(layout.dir, 'etcd')}`, `--etcd-client-port=${layout.ports.etcdClient}`, `--etcd-peer-port=${layout.ports.etcdPeer}`, '--',
    '--bind-address=127.0.0.1', `--secure-port=${layout.ports.api}`,
    `--cert-dir=${pki}`, `--tls-cert-file=${join(pki, 'apiserver.crt')}`, `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
    `--client-ca-file=${info.caFile}`,
    '--service-account-issuer=https://kubernetes.default.svc', `--service-account-key-file=${join(pki, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
    '--service-cluster-ip-range=10.0.0.0/24', '--authorization-mode=Node,RBAC', '--enable-admission-plugins=NodeRestriction',
    '--allow-privileged=true', '--enable-priority-and-fairness=false', '--profiling=false',
    // Pods on the node reach the apiserver through the `kubernetes` Service, whose endpoint is this
    // address (a proxy on the node's bridge forwards to 127.0.0.1, where the apiserver listens).
    `--advertise-address=${NODE.gateway}`, '--endpoint-reconciler-type=lease',
    `--kubelet-client-certificate=${join(pki, 'apiserver-kubelet-client.crt')}`, `--kubelet-client-key=${join(pki, 'apiserver-kubelet-client.key')}`,
    '--kubelet-preferred-address-types=InternalIP', '--v=1',
    ...(layout.apiserverArgs ?? []),
  ];
  return startDetached(join(info.binDir, 'kscp'), args, { log: join(layout.dir, 'controlplane.log'), marker });
}

/** GET a path of the apiserver as admin; resolves with status and body. */
export function apiGet(info: ControlPlaneInfo, path: string): Promise<{ status: number; body: string }> {
  const pki = dirname(info.caFile);
  return new Promise((res, rej) => {
    const req = request(`${info.server}${path}`, {
      ca: readFileSync(info.caFile), cert: readFileSync(join(pki, 'user-admin.crt')), key: readFileSync(join(pki, 'user-admin.key')), timeout: 5000,
    }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => (body += c));
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
    });
    req.on('error', rej);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

export async function waitReady(info: ControlPlaneInfo, proc: ProcessRecord, timeoutMs = 120_000): Promise<void> {
  await waitFor(`kube-apiserver /readyz (log: ${proc.log})`, async () => (await apiGet(info, '/readyz')).status === 200, timeoutMs, 250);
}

export async function kubectl(info: ControlPlaneInfo, user: string, args: string[], stdin?: string): Promise<string> {
  const child = exec(join(info.binDir, 'kubectl'), ['--kubeconfig', info.kubeconfigs[user] ?? '', ...args], { maxBuffer: 64 << 20 });
  if (stdin !== undefined) { child.child.stdin?.end(stdin); }
  const { stdout } = await child;
  return stdout;
}

export async function bootstrapCluster(info: ControlPlaneInfo): Promise<void> {
  // The bootstrap ClusterRoles (edit, view) appear shortly after /readyz; bindings may precede them.
  await waitFor('RBAC bootstrap (clusterrole edit)', async () => (await apiGet(info, '/apis/rbac.authorization.k8s.io/v1/clusterroles/edit')).status === 200, 60_000);
  await kubectl(info, 'admin', ['apply', '-f', '-'], RBAC);
  // kubescribe's own CRDs (GitRepoConfig, WatchRule, ClusterWatchRule), as the Helm chart installs them.
  await kubectl(info, 'admin', ['apply', '--server-side', '--force-conflicts', '-f', join(here, '..', '..', 'charts', 'kubescribe', 'crds')]);
}
