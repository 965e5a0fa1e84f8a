// Resolves the configured resource names (`configmaps`, `deployments.apps`, `apps/v1/deployments`)
// to resource types through API discovery: preferred version, kind, and whether namespaced.
import { KubescribeError } from '../errors.ts';
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

export async function resolveResources(api: KubeApi, specs: readonly string[]): Promise<ResourceType[]> {
  const groups = await api.getJson<ApiGroupList>('/apis');
  const out: ResourceType[] = [];
  for (const spec of specs) {
    const want = parseResourceName(spec);
    let version = want.version;
    if (!version) {
      if (want.group === '') version = 'v1';
      else {
        const g = groups.groups.find((x) => x.name === want.group);
        if (!g) throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `resource ${spec}: API group ${want.group} is not served by this cluster`);
        version = g.preferredVersion.version;
      }
    }
    const type: ResourceType = { group: want.group, version, resource: want.resource };
    const list = await api.getJson<ApiResourceList>(resourcePath(type).replace(/\/[^/]+$/, ''));
    const r = list.resources.find((x) => x.name === want.resource);
    if (!r) throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `resource ${spec}: ${want.resource} is not served in ${list.groupVersion}`);
    if (!r.verbs.includes('watch') || !r.verbs.includes('list')) throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `resource ${spec} cannot be listed and watched`);
    out.push({ ...type, kind: r.kind, namespaced: r.namespaced, scalable: list.resources.some((x) => x.name === `${want.resource}/scale`) });
  }
  return out;
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
