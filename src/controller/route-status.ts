// The `.status` of the custom resources the controller writes: a small face over the StatusWriter
// (which knows nothing of kubescribe's kinds), and the status of each rule — what it records, or why
// it cannot (a resource this cluster does not serve, a watch RBAC forbids).
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

/** Each rule's conditions and recorded types. `forbidden`: type key → the API server's 403 message. */
export function reportRouteStatus(table: RouteTable, catalogue: readonly ResourceType[], forbidden: ReadonlyMap<string, string>, report: ReportStatus): void {
  for (const route of table.routes) {
    if (!route.ref) continue;
    const keys = [...table.typesOf(route.key)];
    const unknown = route.resourceRules.flatMap((rr) => rr.resources
      .filter((res) => res !== '*' && !catalogue.some((t) => t.resource === res && (rr.apiGroups.includes('*') || rr.apiGroups.includes(t.group))))
      .map((res) => `${res} (apiGroups ${rr.apiGroups.map((g) => JSON.stringify(g)).join(', ')})`));
    const denied = keys.filter((k) => forbidden.has(k));
    if (unknown.length > 0) report(route.ref, notReady('InvalidSpec', `spec.rules: not served by this cluster: ${unknown.join('; ')}`, true), { resources: keys });
    else if (denied.length > 0) report(route.ref, notReady('AccessDenied', `kubescribe may not list/watch ${denied.join(', ')} (${forbidden.get(denied[0]!)}); grant it in the chart's RBAC or narrow spec.rules. The other types are recorded.`, false), { resources: keys });
    else report(route.ref, ready('Active', `recording ${keys.length} resource type(s) into ${route.destination.repoKey} ${route.destination.branch}${route.baseFolder ? `:${route.baseFolder}` : ''}`), { resources: keys });
  }
}
