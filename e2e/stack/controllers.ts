// The controllers of the local cluster: the real kube-controller-manager and kube-scheduler (the
// kscluster binary, built beside kscp by e2e/controlplane/build.sh, same Kubernetes version), each
// with its own client certificate (system:kube-controller-manager, system:kube-scheduler; their
// kubeconfigs are made by prepareControlPlane). With
// them the cluster acts as a real one beside the users: ReplicaSets and Pods from Deployments,
// garbage collection, namespace finalization, the `default` ServiceAccount and the
// kube-root-ca.crt ConfigMap in each namespace, and the aggregation of the edit/view ClusterRoles.
// Neither serves HTTPS (--secure-port=0): several stacks share this machine, and readiness is
// judged by what the controllers do, not by a port.
import { join } from 'node:path';
import { apiGet, type ControlPlaneInfo } from './control-plane.ts';
import { startDetached, waitFor, type ProcessRecord } from './processes.ts';

export function startControllerManager(dir: string, info: ControlPlaneInfo, marker: string): ProcessRecord {
  const pki = join(dir, 'pki');
  const kubeconfig = info.kubeconfigs['kube-controller-manager'] ?? '';
  return startDetached(join(info.binDir, 'kscluster'), [
    'kube-controller-manager', `--kubeconfig=${kubeconfig}`, '--secure-port=0', '--leader-elect=false',
    // Each controller acts as its own ServiceAccount (system:serviceaccount:kube-system:<name>),
    // as in a real cluster: that is the author kubescribe records for what a controller changes.
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${join(pki, 'sa.key')}`, `--root-ca-file=${info.caFile}`,
    `--cluster-signing-cert-file=${info.caFile}`, `--cluster-signing-key-file=${join(pki, 'ca.key')}`,
    '--profiling=false', '--v=1',
  ], { log: join(dir, 'kube-controller-manager.log'), marker });
}

export function startScheduler(dir: string, info: ControlPlaneInfo, marker: string): ProcessRecord {
  const kubeconfig = info.kubeconfigs['kube-scheduler'] ?? '';
  return startDetached(join(info.binDir, 'kscluster'), [
    'kube-scheduler', `--kubeconfig=${kubeconfig}`, '--secure-port=0', '--leader-elect=false', '--profiling=false', '--v=1',
  ], { log: join(dir, 'kube-scheduler.log'), marker });
}

/**
 * Resolves once the controller-manager acts: the aggregated `edit` ClusterRole has been filled in
 * (the users' rights come from it) by the clusterrole-aggregation controller.
 */
export async function waitControllersActing(info: ControlPlaneInfo, proc: ProcessRecord, timeoutMs = 60_000): Promise<void> {
  await waitFor(`kube-controller-manager to aggregate the edit ClusterRole (log: ${proc.log})`, async () => {
    const res = await apiGet(info, '/apis/rbac.authorization.k8s.io/v1/clusterroles/edit');
    if (res.status !== 200) return false;
    const role = JSON.parse(res.body) as { rules?: Array<{ resources?: string[]; verbs?: string[] }> };
    return (role.rules ?? []).some((r) => r.resources?.includes('configmaps') && r.verbs?.includes('create'));
  }, timeoutMs, 250);
}
