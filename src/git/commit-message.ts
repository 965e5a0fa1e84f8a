// The commit format (docs/browsing.md "Commits"): subject `<OPERATION> <group/version> <resource> <namespace/name>`,
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
  /** A deletion held by finalizers or a grace period: asked for, or done (see Change.deletion). */
  deletion?: 'requested' | 'completed';
  /** Who released the last finalizer, when not the author. */
  releasedBy?: string;
  /** Several people may have made the change and nothing tells them apart: all of them (the user is then `unknown`). */
  candidates?: readonly string[];
  /** Several clusters into one repository: the cluster's name (the `Kubescribe-Cluster` trailer). */
  cluster?: string;
  /** A deletion by a controller on someone's behalf: who set it off and what they deleted (correlation/cause.ts). */
  cause?: { users: readonly string[]; deleted: string; controller: string };
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
  const body: string[] = [];
  if (m.deletion === 'requested') body.push(`Deletion requested by ${m.user}; the object stays until its finalizers or grace period let it go.`);
  if (m.deletion === 'completed') body.push(`The deletion requested by ${m.user} is complete${m.releasedBy ? `: ${m.releasedBy} released the last finalizer` : ''}.`);
  if (m.cause) body.push(`Removed by the ${m.cause.controller} because ${m.cause.users.join(' or ')} deleted ${m.cause.deleted}.`);
  if (m.candidates && m.candidates.length > 1) body.push(`Several requests match this change and nothing tells which one was persisted: ${m.candidates.join(', ')}. kubescribe does not guess.`);
  return [
    `${m.operation} ${gv(m.group, m.version)} ${m.resource} ${object}`,
    '',
    ...(body.length > 0 ? [...body, ''] : []),
    `Kubescribe-Operation: ${m.operation}`,
    `Kubescribe-Resource: ${gv(m.group, m.version)}/${m.resource}`,
    `Kubescribe-Object: ${object}`,
    `Kubescribe-User: ${oneLine(m.user)}`,
    `Kubescribe-Groups: ${oneLine(m.groups.join(','))}`,
    `Kubescribe-Resource-Version: ${m.resourceVersion}`,
    ...(m.deletion ? [`Kubescribe-Deletion: ${m.deletion}`] : []),
    ...(m.releasedBy ? [`Kubescribe-Released-By: ${oneLine(m.releasedBy)}`] : []),
    ...(m.cause ? [`Kubescribe-Cause: ${oneLine(m.cause.users.join(', '))}`] : []),
    ...(m.candidates && m.candidates.length > 1 ? [`Kubescribe-Candidates: ${oneLine(m.candidates.join(', '))}`] : []),
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
