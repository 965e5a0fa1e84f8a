// Keeps the rules of kubescribe's own ValidatingWebhookConfiguration equal to what is recorded,
// so the apiserver calls the webhook only for those resources. The versions are the ones the watch
// uses (the apiserver converts other versions to them: matchPolicy Equivalent), so the webhook and
// the watch hash the same content; `<resource>/scale` is added where it exists (kubectl scale).
// Namespace DELETEs are always sent, recorded or not: they are the cause of what the namespace
// controller deletes afterwards (correlation/cause.ts). Only `rules` is changed: clientConfig,
// selectors and policies stay as deployed.
import type { Logger } from 'pino';
import type { ResourceType } from '../kube-object.ts';
import type { KubeApi } from '../watch/index.ts';

export interface WebhookRule { apiGroups: string[]; apiVersions: string[]; resources: string[]; operations: string[]; scope: '*' }

export function webhookRules(types: readonly ResourceType[]): WebhookRule[] {
  const byGv = new Map<string, { group: string; version: string; resources: Set<string> }>();
  for (const t of types) {
    const k = `${t.group}/${t.version}`;
    const e = byGv.get(k) ?? { group: t.group, version: t.version, resources: new Set<string>() };
    e.resources.add(t.resource);
    if (t.scalable) e.resources.add(`${t.resource}/scale`);
    byGv.set(k, e);
  }
  const rules: WebhookRule[] = [...byGv.values()].sort((a, b) => `${a.group}/${a.version}`.localeCompare(`${b.group}/${b.version}`)).map((e) => ({
    apiGroups: [e.group], apiVersions: [e.version], resources: [...e.resources].sort(), operations: ['CREATE', 'UPDATE', 'DELETE'], scope: '*',
  }));
  if (!byGv.get('/v1')?.resources.has('namespaces')) rules.push(NAMESPACE_DELETES);
  return rules;
}

/** The rule that sends Namespace DELETEs when Namespaces are not recorded: the cause of the namespace controller's deletions. */
export const NAMESPACE_DELETES: WebhookRule = { apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces'], operations: ['DELETE'], scope: '*' };

interface Vwc { metadata: { resourceVersion?: string }; webhooks?: Array<{ name: string; rules?: WebhookRule[] }> }

export async function syncWebhookRules(api: KubeApi, name: string, types: readonly ResourceType[], logger: Logger): Promise<boolean> {
  const path = `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${encodeURIComponent(name)}`;
  const vwc = await api.getJson<Vwc>(path);
  const rules = webhookRules(types);
  let changed = false;
  for (const w of vwc.webhooks ?? []) {
    if (sameRules(w.rules ?? [], rules)) continue;
    w.rules = rules;
    changed = true;
  }
  if (!changed) return false;
  await api.send('PUT', path, vwc);
  // Only real changes get here (the apiserver's key order no longer reads as one): info is quiet in steady state.
  logger.info({ configuration: name, rules: rules.length }, 'updated the webhook rules to what is recorded');
  return true;
}

/**
 * Rule lists compared by content: the apiserver answers with its own key order (operations first),
 * so comparing JSON text found a difference every time and rewrote the rules every discovery tick.
 */
function sameRules(have: readonly WebhookRule[], want: readonly WebhookRule[]): boolean {
  const norm = (r: WebhookRule): string => JSON.stringify([r.apiGroups, r.apiVersions, [...r.resources].sort(), [...r.operations].sort(), r.scope ?? '*']);
  return have.length === want.length && have.every((r, i) => norm(r) === norm(want[i]!));
}
