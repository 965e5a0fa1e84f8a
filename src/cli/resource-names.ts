// Turns what a user types for a resource (`deploy`, `Deployment`, `cm`, `widgets.example.com`)
// into the group and plural resource that name a folder of the audit repository. The CLI reads
// a Git repository, not a cluster, so there is no discovery: a static table of the common
// built-in types (group, preferred version, kind, short names, scope) stands in for kubectl's
// RESTMapper, and anything else is written `<plural>.<group>` as kubectl accepts it for CRDs.

import { usageError } from './errors.ts';

export interface BuiltinResource {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
}

export interface ResolvedResource {
  /** '' for the core group. */
  readonly group: string;
  /** Known for built-ins and when typed (`deployments.v1.apps`); commit trailers give it otherwise. */
  readonly version: string | undefined;
  /** The plural, lower-case: the folder name in the repository. */
  readonly resource: string;
  readonly kind: string | undefined;
  /** undefined for a custom resource: its scope follows from whether a namespace was given. */
  readonly namespaced: boolean | undefined;
}

function r(group: string, version: string, resource: string, kind: string, namespaced: boolean, shortNames: string[] = []): BuiltinResource {
  return { group, version, resource, kind, namespaced, shortNames };
}

const NS = true;
const CLUSTER = false;

/** Short names as `kubectl api-resources` lists them for a current cluster. */
export const BUILTIN_RESOURCES: readonly BuiltinResource[] = [
  r('', 'v1', 'configmaps', 'ConfigMap', NS, ['cm']),
  r('', 'v1', 'endpoints', 'Endpoints', NS, ['ep']),
  r('', 'v1', 'events', 'Event', NS, ['ev']),
  r('', 'v1', 'limitranges', 'LimitRange', NS, ['limits']),
  r('', 'v1', 'namespaces', 'Namespace', CLUSTER, ['ns']),
  r('', 'v1', 'nodes', 'Node', CLUSTER, ['no']),
  r('', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', NS, ['pvc']),
  r('', 'v1', 'persistentvolumes', 'PersistentVolume', CLUSTER, ['pv']),
  r('', 'v1', 'pods', 'Pod', NS, ['po']),
  r('', 'v1', 'podtemplates', 'PodTemplate', NS),
  r('', 'v1', 'replicationcontrollers', 'ReplicationController', NS, ['rc']),
  r('', 'v1', 'resourcequotas', 'ResourceQuota', NS, ['quota']),
  r('', 'v1', 'secrets', 'Secret', NS),
  r('', 'v1', 'serviceaccounts', 'ServiceAccount', NS, ['sa']),
  r('', 'v1', 'services', 'Service', NS, ['svc']),
  r('admissionregistration.k8s.io', 'v1', 'mutatingwebhookconfigurations', 'MutatingWebhookConfiguration', CLUSTER),
  r('admissionregistration.k8s.io', 'v1', 'validatingadmissionpolicies', 'ValidatingAdmissionPolicy', CLUSTER),
  r('admissionregistration.k8s.io', 'v1', 'validatingadmissionpolicybindings', 'ValidatingAdmissionPolicyBinding', CLUSTER),
  r('admissionregistration.k8s.io', 'v1', 'validatingwebhookconfigurations', 'ValidatingWebhookConfiguration', CLUSTER),
  r('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', CLUSTER, ['crd', 'crds']),
  r('apiregistration.k8s.io', 'v1', 'apiservices', 'APIService', CLUSTER),
  r('apps', 'v1', 'controllerrevisions', 'ControllerRevision', NS),
  r('apps', 'v1', 'daemonsets', 'DaemonSet', NS, ['ds']),
  r('apps', 'v1', 'deployments', 'Deployment', NS, ['deploy']),
  r('apps', 'v1', 'replicasets', 'ReplicaSet', NS, ['rs']),
  r('apps', 'v1', 'statefulsets', 'StatefulSet', NS, ['sts']),
  r('autoscaling', 'v2', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler', NS, ['hpa']),
  r('batch', 'v1', 'cronjobs', 'CronJob', NS, ['cj']),
  r('batch', 'v1', 'jobs', 'Job', NS),
  r('certificates.k8s.io', 'v1', 'certificatesigningrequests', 'CertificateSigningRequest', CLUSTER, ['csr']),
  r('coordination.k8s.io', 'v1', 'leases', 'Lease', NS),
  r('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice', NS),
  r('flowcontrol.apiserver.k8s.io', 'v1', 'flowschemas', 'FlowSchema', CLUSTER),
  r('flowcontrol.apiserver.k8s.io', 'v1', 'prioritylevelconfigurations', 'PriorityLevelConfiguration', CLUSTER),
  r('networking.k8s.io', 'v1', 'ingressclasses', 'IngressClass', CLUSTER),
  r('networking.k8s.io', 'v1', 'ingresses', 'Ingress', NS, ['ing']),
  r('networking.k8s.io', 'v1', 'networkpolicies', 'NetworkPolicy', NS, ['netpol']),
  r('node.k8s.io', 'v1', 'runtimeclasses', 'RuntimeClass', CLUSTER),
  r('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', NS, ['pdb']),
  r('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', CLUSTER),
  r('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', CLUSTER),
  r('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', NS),
  r('rbac.authorization.k8s.io', 'v1', 'roles', 'Role', NS),
  r('scheduling.k8s.io', 'v1', 'priorityclasses', 'PriorityClass', CLUSTER, ['pc']),
  r('storage.k8s.io', 'v1', 'csidrivers', 'CSIDriver', CLUSTER),
  r('storage.k8s.io', 'v1', 'csinodes', 'CSINode', CLUSTER),
  r('storage.k8s.io', 'v1', 'storageclasses', 'StorageClass', CLUSTER, ['sc']),
  r('storage.k8s.io', 'v1', 'volumeattachments', 'VolumeAttachment', CLUSTER),
];

/** Every accepted spelling, lower-case: plural, singular (the kind lower-cased), short names. */
const BY_NAME: ReadonlyMap<string, BuiltinResource> = (() => {
  const index = new Map<string, BuiltinResource>();
  for (const b of BUILTIN_RESOURCES) {
    for (const alias of [b.resource, b.kind.toLowerCase(), ...b.shortNames]) index.set(alias, b);
  }
  return index;
})();

const VERSION = /^v\d+((alpha|beta)\d+)?$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function fromBuiltin(b: BuiltinResource, version = b.version): ResolvedResource {
  return { group: b.group, version, resource: b.resource, kind: b.kind, namespaced: b.namespaced };
}

/**
 * Resolves a resource as kubectl would for built-ins; `<plural>.<group>` and
 * `<plural>.<version>.<group>` for anything else. Throws a usage error with close names.
 */
export function resolveResource(input: string): ResolvedResource {
  const typed = input.trim();
  const name = typed.toLowerCase();
  const builtin = BY_NAME.get(name);
  if (builtin) return fromBuiltin(builtin);

  const dot = name.indexOf('.');
  if (dot > 0) {
    const first = name.slice(0, dot);
    let rest = name.slice(dot + 1);
    let version: string | undefined;
    const nextDot = rest.indexOf('.');
    const maybeVersion = nextDot > 0 ? rest.slice(0, nextDot) : rest;
    if (VERSION.test(maybeVersion) && nextDot > 0) {
      version = maybeVersion;
      rest = rest.slice(nextDot + 1);
    }
    const known = BY_NAME.get(first);
    if (known && known.group === rest) return fromBuiltin(known, version ?? known.version);
    if (rest.split('.').every((label) => DNS_LABEL.test(label)) && DNS_LABEL.test(first)) {
      return { group: rest, version, resource: first, kind: undefined, namespaced: undefined };
    }
  }

  const close = suggestResources(typed);
  throw usageError(
    `unknown resource type "${typed}"` + (close.length > 0 ? `; did you mean ${close.join(', ')}?` : ''),
    'built-in types are named as kubectl names them (deploy, deployment, Deployment, cm, svc, ...); ' +
      'for a custom resource use <plural>.<group>, e.g. widgets.example.com',
  );
}

/** Up to `max` plural names closest to what was typed (by edit distance over every alias). */
export function suggestResources(typed: string, max = 3): string[] {
  const name = typed.toLowerCase();
  const scored: { resource: string; distance: number }[] = [];
  for (const [alias, b] of BY_NAME) {
    const distance = editDistance(name, alias);
    const isPrefix = name.length >= 3 && alias.startsWith(name);
    if (isPrefix || distance <= Math.max(2, Math.floor(name.length / 3))) scored.push({ resource: b.resource, distance });
  }
  scored.sort((a, b) => a.distance - b.distance || a.resource.localeCompare(b.resource));
  return [...new Set(scored.map((s) => s.resource))].slice(0, max);
}

/** How kubectl prints a resource type: `configmaps`, `deployments.apps`. */
export function displayResource(r: { group: string; resource: string }): string {
  return r.group === '' ? r.resource : `${r.resource}.${r.group}`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
