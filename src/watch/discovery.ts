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
    out.push({ ...type, kind: r.kind, namespaced: r.namespaced });
  }
  return out;
}
