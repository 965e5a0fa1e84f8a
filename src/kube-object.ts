// The shapes shared by every stage of the flow: a Kubernetes object as JSON, and the identity of
// a resource type and of an object within it.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: JsonValue | undefined;
  };
  [key: string]: JsonValue | undefined | KubeObject['metadata'];
}

/** A resource type as the API names it: group ('' for core), version, plural resource. */
export interface ResourceType {
  group: string;
  version: string;
  resource: string;
  kind?: string;
  namespaced?: boolean;
  /** Has a scale subresource (kubectl scale goes through it). */
  scalable?: boolean;
}

/** `apps/deployments`, `core/configmaps`: one key per resource type, version aside. */
export function typeKey(t: Pick<ResourceType, 'group' | 'resource'>): string {
  return `${t.group || 'core'}/${t.resource}`;
}

/** `apps/v1` or `v1` for the core group. */
export function groupVersion(t: Pick<ResourceType, 'group' | 'version'>): string {
  return t.group === '' ? t.version : `${t.group}/${t.version}`;
}

/** Compares resourceVersions when both are etcd revisions (decimal); undefined when they cannot be compared. */
export function compareRv(a: string, b: string): number | undefined {
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
