// The commit format of DESIGN.md: subject `<OPERATION> <group/version> <resource> <namespace/name>`,
// an optional body, and machine-readable trailers at the end, one per line.
export interface ChangeMessage {
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  group: string;
  version: string;
  resource: string;
  namespace: string;
  name: string;
  user: string;
  groups: readonly string[];
  resourceVersion: string;
  /** Several clusters into one repository: the cluster's name (the `Kubescribe-Cluster` trailer). */
  cluster?: string;
}

export interface ReconcileMessage {
  group: string;
  version: string;
  resource: string;
  reason: string;
  created: readonly string[];
  updated: readonly string[];
  deleted: readonly string[];
  user: string;
  cluster?: string;
}

function gv(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

/** Trailer values are single lines; anything else would break `git interpret-trailers`. */
function oneLine(v: string): string {
  return v.replace(/[\r\n]+/g, ' ');
}

function clusterTrailer(cluster: string | undefined): string[] {
  return cluster ? [`Kubescribe-Cluster: ${oneLine(cluster)}`] : [];
}

export function changeMessage(m: ChangeMessage): string {
  const object = m.namespace ? `${m.namespace}/${m.name}` : m.name;
  return [
    `${m.operation} ${gv(m.group, m.version)} ${m.resource} ${object}`,
    '',
    `Kubescribe-Operation: ${m.operation}`,
    `Kubescribe-Resource: ${gv(m.group, m.version)}/${m.resource}`,
    `Kubescribe-Object: ${object}`,
    `Kubescribe-User: ${oneLine(m.user)}`,
    `Kubescribe-Groups: ${oneLine(m.groups.join(','))}`,
    `Kubescribe-Resource-Version: ${m.resourceVersion}`,
    ...clusterTrailer(m.cluster),
    '',
  ].join('\n');
}

export function reconcileMessage(m: ReconcileMessage): string {
  const n = m.created.length + m.updated.length + m.deleted.length;
  const lines = [
    `RECONCILE ${gv(m.group, m.version)} ${m.resource} (${n} ${n === 1 ? 'object' : 'objects'})`,
    '',
    `Reconcile commit by kubescribe (${m.reason}): the branch is brought in line with the cluster.`,
    'The authors of these changes are unknown: they happened while no correlation could be made.',
    '',
    ...m.created.map((o) => `created ${o}`),
    ...m.updated.map((o) => `updated ${o}`),
    ...m.deleted.map((o) => `deleted ${o}`),
    '',
    'Kubescribe-Operation: RECONCILE',
    `Kubescribe-Resource: ${gv(m.group, m.version)}/${m.resource}`,
    `Kubescribe-User: ${oneLine(m.user)}`,
    ...clusterTrailer(m.cluster),
    '',
  ];
  return lines.join('\n');
}

/** `{user}` in the template, with characters unfit for an email address replaced by `-`. */
export function authorEmail(template: string, user: string): string {
  return template.replaceAll('{user}', user.replace(/[^A-Za-z0-9._+-]/g, '-'));
}
