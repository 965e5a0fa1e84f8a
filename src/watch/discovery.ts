// API discovery: every resource type the cluster serves (preferred version, kind, namespaced,
// scale subresource), the paths of resource types, and the names rules use for them.
import type { ResourceType } from '../kube-object.ts';
import type { KubeApi } from './kube-api.ts';

interface ApiResourceList { groupVersion: string; resources: Array<{ name: string; kind: string; namespaced: boolean; verbs: string[] }> }
interface ApiGroupList { groups: Array<{ name: string; preferredVersion: { version: string }; versions: Array<{ version: string }> }> }

export function resourcePath(t: ResourceType, namespace?: string, name?: string): string {
  const prefix = t.group === '' ? `/api/${t.version}` : `/apis/${t.group}/${t.version}`;
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${prefix}${ns}/${t.resource}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

export function parseResourceName(spec: string): { group: string; version?: string; resource: string } {
  const parts = spec.split('/');
  if (parts.length === 3) return { group: parts[0] ?? '', version: parts[1], resource: parts[2] ?? '' };
  if (parts.length === 2) return { group: '', version: parts[0], resource: parts[1] ?? '' };
  const dot = spec.indexOf('.');
  return dot < 0 ? { group: '', resource: spec } : { group: spec.slice(dot + 1), resource: spec.slice(0, dot) };
}

/** Every resource type the cluster serves that can be listed and watched (preferred versions). */
export async function discoverAll(api: KubeApi): Promise<ResourceType[]> {
  const lists: ApiResourceList[] = [await api.getJson<ApiResourceList>('/api/v1')];
  const groups = await api.getJson<ApiGroupList>('/apis');
  const results = await Promise.allSettled(groups.groups.map((g) => api.getJson<ApiResourceList>(`/apis/${g.name}/${g.preferredVersion.version}`)));
  for (const r of results) if (r.status === 'fulfilled') lists.push(r.value); // an unavailable aggregated API is skipped
  const out: ResourceType[] = [];
  for (const list of lists) {
    const [group, version] = list.groupVersion.includes('/') ? list.groupVersion.split('/') as [string, string] : ['', list.groupVersion];
    const names = new Set(list.resources.map((r) => r.name));
    for (const r of list.resources) {
      if (r.name.includes('/') || !r.verbs.includes('list') || !r.verbs.includes('watch')) continue;
      out.push({ group, version, resource: r.name, kind: r.kind, namespaced: r.namespaced, scalable: names.has(`${r.name}/scale`) });
    }
  }
  return out;
}
