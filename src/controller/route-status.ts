// The `.status` of the custom resources the controller writes: a small face over the StatusWriter
// (which knows nothing of kubescribe's kinds), and the status of each rule — what it records, or why
// it cannot (a resource this cluster does not serve, a watch RBAC forbids), or what it still waits
// for. A rule is Ready only once every type it names has been listed *for it* (a snapshot taken since
// the rule last changed: the watch of a type other rules already record lists again for a new one)
// and is in the webhook's rules: a change made before that is recorded by the first
// snapshot, not under its author, and a user reads Ready as "from now on, recorded with who did it".
import { GROUP, KINDS, VERSION } from '../rules/schemas.ts';
import type { ObjectRef } from '../rules/rule-set.ts';
import { notReady, ready, type Condition, type StatusWriter } from '../status/status-writer.ts';
import type { ResourceType } from '../kube-object.ts';
import type { RouteTable } from './route-table.ts';

export type ReportStatus = (ref: ObjectRef, conditions: Condition[], extra?: Record<string, unknown>) => void;

export function statusReporter(writer: Pick<StatusWriter, 'set'>): ReportStatus {
  return (ref, conditions, extra) => {
    const k = KINDS[ref.kind];
    void writer.set({ group: GROUP, version: VERSION, plural: k.plural, namespace: ref.namespace, name: ref.name, generation: ref.generation }, conditions, extra);
  };
}

/** Where each type key stands: listed for a rule since it last changed, and covered by the webhook configuration's rules. */
export interface TypeProgress {
  listed(typeKey: string, routeKey: string): boolean;
  inWebhook(typeKey: string): boolean;
  /** Why the webhook configuration's rules could not be updated, if they could not. */
  webhookProblem?: string;
}

/** Each rule's conditions and recorded types. `forbidden`: type key → the API server's 403 message. */
export function reportRouteStatus(table: RouteTable, catalogue: readonly ResourceType[], forbidden: ReadonlyMap<string, string>, progress: TypeProgress, report: ReportStatus): void {
  for (const route of table.routes) {
    if (!route.ref) continue;
    const keys = [...table.typesOf(route.key)];
    const unknown = route.resourceRules.flatMap((rr) => rr.resources
      .filter((res) => res !== '*' && !catalogue.some((t) => t.resource === res && (rr.apiGroups.includes('*') || rr.apiGroups.includes(t.group))))
      .map((res) => `${res} (apiGroups ${rr.apiGroups.map((g) => JSON.stringify(g)).join(', ')})`));
    const denied = keys.filter((k) => forbidden.has(k));
    if (unknown.length > 0) report(route.ref, notReady('InvalidSpec', `spec.rules: not served by this cluster: ${unknown.join('; ')}`, true), { resources: keys });
    else if (denied.length > 0) report(route.ref, notReady('AccessDenied', `kubescribe may not list/watch ${denied.join(', ')} (${forbidden.get(denied[0]!)}); grant it in the chart's RBAC or narrow spec.rules. The other types are recorded.`, false), { resources: keys });
    else if (keys.some((k) => !progress.listed(k, route.key) || !progress.inWebhook(k))) report(route.ref, notReady('Starting', starting(route.key, keys, progress), false), { resources: keys });
    else report(route.ref, ready('Active', `recording ${keys.length} resource type(s) into ${route.destination.repoKey} ${route.destination.branch}${route.baseFolder ? `:${route.baseFolder}` : ''}`), { resources: keys });
  }
}

function starting(routeKey: string, keys: readonly string[], progress: TypeProgress): string {
  const unlisted = keys.filter((k) => !progress.listed(k, routeKey));
  const outside = keys.filter((k) => !progress.inWebhook(k));
  const waits = [
    ...(unlisted.length > 0 ? [`the first list of ${unlisted.join(', ')}`] : []),
    ...(outside.length > 0 ? [`the webhook configuration's rules to cover ${outside.join(', ')}${progress.webhookProblem ? ` (${progress.webhookProblem})` : ''}`] : []),
  ];
  return `waiting for ${waits.join(' and ')}; a change made before Ready is recorded by the first snapshot, without its author`;
}
