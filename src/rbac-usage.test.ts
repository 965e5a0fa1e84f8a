// Every permission the chart grants, with the code path that uses it, and every Kubernetes API call
// in src/ with the permission it needs. Fails when rbac.yaml grants a verb no code uses, when a use
// is not granted, or when an API call site appears that this table does not account for.
// Rendered by the real helm (built by scripts/install-deps.sh into ~/.cache/kubescribe).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const root = join(import.meta.dirname, '..');
const helmVersion = /helm\.sh\/helm\/v3 v(\S+)/.exec(readFileSync(join(root, 'e2e/controlplane/helm/go.mod'), 'utf8'))![1];
const HELM = join(process.env.KUBESCRIBE_CACHE ?? join(homedir(), '.cache/kubescribe'), `helm-${helmVersion}`, 'helm');

interface Use {
  why: string;
  kind: 'ClusterRole' | 'Role';
  group: string;
  /** `*recorded*`: each resource of watch.resources. */
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
  /** Only granted under these values (a predicate on the render case). */
  when?: (c: Case) => boolean;
  /** Where the code makes the call: [file, text found on the calling line]. */
  code: Array<[string, string]>;
}

interface Case { name: string; values: Record<string, unknown>; records: string[]; customResources: boolean; credentialNamespaces: string[] }

const RELEASE = 'ks';
const perDestination = (c: Case): boolean => (c.values.leaderElection as { perDestination?: boolean } | undefined)?.perDestination === true;
const NS = 'audit-system';
const cacheHelper: [string, string] = ['src/controller/controller.ts', 'return new ResourceCache({'];
const sourcesCache: [string, string] = ['src/controller/cluster-sources.ts', 'new ResourceCache({ api: o.api'];
const listWatch: Array<[string, string]> = [['src/watch/list-watch.ts', 'o.api.getJson<ListResponse>'], ['src/watch/list-watch.ts', 'o.api.streamLines(']];

const USES: Use[] = [
  { why: 'record the resources of watch.resources (list, then watch)', kind: 'ClusterRole', group: '*recorded*', resources: ['*recorded*'], verbs: ['list', 'watch'], code: [['src/watch/watch-manager.ts', 'runListWatch({'], ...listWatch] },
  { why: 'read the configuration custom resources', kind: 'ClusterRole', group: 'kubescribe.dev', resources: ['gitrepoconfigs', 'watchrules', 'clusterwatchrules'], verbs: ['list', 'watch'], when: (c) => c.customResources,
    code: [['src/controller/cluster-sources.ts', 'cache(KINDS[kind].plural, GROUP, VERSION, changed)'], sourcesCache, ['src/controller/resource-cache.ts', 'runListWatch({'], ...listWatch] },
  { why: 'write their .status conditions (merge patch)', kind: 'ClusterRole', group: 'kubescribe.dev', resources: ['gitrepoconfigs/status', 'watchrules/status', 'clusterwatchrules/status'], verbs: ['patch'], when: (c) => c.customResources,
    code: [['src/controller/controller.ts', "d.api.send('PATCH', path, body"]] },
  { why: 'namespace labels for namespace selectors (and the kube-system uid, the cluster identity)', kind: 'ClusterRole', group: '', resources: ['namespaces'], verbs: ['list', 'watch'],
    code: [['src/controller/cluster-sources.ts', "cache('namespaces')"], sourcesCache, ['src/controller/resource-cache.ts', 'runListWatch({'], ...listWatch, ['src/controller/cluster-now.ts', "('/api/v1/namespaces?fieldSelector=metadata.name%3Dkube-system')"]] },
  { why: 'keep the rules of its own webhook configuration equal to what is recorded', kind: 'ClusterRole', group: 'admissionregistration.k8s.io', resources: ['validatingwebhookconfigurations'], verbs: ['get'], resourceNames: [`${RELEASE}-kubescribe-${NS}`],
    code: [['src/controller/webhook-rules.ts', 'api.getJson<Vwc>(path)']] },
  { why: 'the same, writing the rules back', kind: 'ClusterRole', group: 'admissionregistration.k8s.io', resources: ['validatingwebhookconfigurations'], verbs: ['update'], resourceNames: [`${RELEASE}-kubescribe-${NS}`],
    code: [['src/controller/webhook-rules.ts', "api.send('PUT', path, vwc)"]] },
  { why: 'leader election: create the Lease the first time', kind: 'Role', group: 'coordination.k8s.io', resources: ['leases'], verbs: ['create'], code: [['src/leases.ts', "api.send<Lease>('POST'"]] },
  { why: 'leader election: read the Lease', kind: 'Role', group: 'coordination.k8s.io', resources: ['leases'], verbs: ['get'], resourceNames: [`${RELEASE}-kubescribe`], code: [['src/leases.ts', 'api.getJson<Lease>(']] },
  { why: 'leader election: renew or take over the Lease', kind: 'Role', group: 'coordination.k8s.io', resources: ['leases'], verbs: ['update'], resourceNames: [`${RELEASE}-kubescribe`], code: [['src/leases.ts', "api.send<Lease>('PUT'"]] },
  { why: 'leaderElection.perDestination: read, renew or take over the Lease of each destination and of each replica (named after them)', kind: 'Role', group: 'coordination.k8s.io', resources: ['leases'], verbs: ['get', 'update'], when: (c) => perDestination(c),
    code: [['src/leases.ts', 'api.getJson<Lease>('], ['src/leases.ts', "api.send<Lease>('PUT'"]] },
  { why: 'leaderElection.perDestination: list the replicas\' member Leases', kind: 'Role', group: 'coordination.k8s.io', resources: ['leases'], verbs: ['list'], when: (c) => perDestination(c),
    code: [['src/leases.ts', 'api.getJson<{ items: Lease[] }>(leasesPath(namespace)']] },
  { why: 'peer discovery: the EndpointSlices of the headless peers Service', kind: 'Role', group: 'discovery.k8s.io', resources: ['endpointslices'], verbs: ['list', 'watch'],
    code: [['src/app.ts', "resource: 'endpointslices' }"], ['src/controller/resource-cache.ts', 'runListWatch({'], ...listWatch] },
  { why: 'the Git credentials Secret a GitRepoConfig names (in the namespaces allowed to hold one), unless Secrets are recorded anyway', kind: 'Role', group: '', resources: ['secrets'], verbs: ['list', 'watch'],
    when: (c) => c.customResources && !c.records.includes('secrets'),
    code: [['src/controller/controller.ts', "resource: 'secrets' }, onChange, { namespace: secret.namespace"], cacheHelper, ['src/controller/resource-cache.ts', 'runListWatch({'], ...listWatch] },
];

// API calls that need no RBAC rule: discovery is open to every authenticated user (system:discovery).
const NO_RBAC: Array<[string, string]> = [['src/watch/discovery.ts', "api.getJson<ApiResourceList>('/api/v1')"], ['src/watch/discovery.ts', "api.getJson<ApiGroupList>('/apis')"], ['src/watch/discovery.ts', 'api.getJson<ApiResourceList>(`/apis/']];

const CASES: Case[] = [
  { name: 'defaults (bootstrap repository + custom resources)', values: { git: { url: 'https://git.example.org/a.git' } }, records: ['configmaps', 'services', 'deployments'], customResources: true, credentialNamespaces: [NS] },
  { name: 'custom resources only, credentials in two more namespaces', values: { rbac: { gitCredentialNamespaces: ['team-a', 'team-b'] } }, records: ['configmaps', 'services', 'deployments'], customResources: true, credentialNamespaces: [NS, 'team-a', 'team-b'] },
  { name: 'replicas sharing the writing (leaderElection.perDestination)', values: { git: { url: 'https://git.example.org/a.git' }, replicaCount: 3, leaderElection: { perDestination: true } }, records: ['configmaps', 'services', 'deployments'], customResources: true, credentialNamespaces: [NS] },
  { name: 'recording Secrets, no custom resources', values: { git: { url: 'https://git.example.org/a.git' }, customResources: { enabled: false }, watch: { resources: [{ group: '', version: 'v1', resource: 'secrets' }] } }, records: ['secrets'], customResources: false, credentialNamespaces: [] },
];

interface Rule { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }
interface Grant { kind: string; namespace: string; group: string; resource: string; verb: string; names: string }

function render(c: Case): Grant[] {
  const out = execFileSync(HELM, ['template', RELEASE, join(root, 'charts/kubescribe'), '-n', NS, '--show-only', 'templates/rbac.yaml', '-f', '-'], { encoding: 'utf8', input: JSON.stringify(c.values) });
  const grants: Grant[] = [];
  for (const doc of parseAllDocuments(out)) {
    const o = doc.toJS() as { kind: string; metadata: { namespace?: string }; rules?: Rule[] } | null;
    if (!o?.rules) continue;
    for (const r of o.rules) for (const group of r.apiGroups) for (const resource of r.resources) for (const verb of r.verbs) {
      grants.push({ kind: o.kind, namespace: o.metadata.namespace ?? '', group, resource, verb, names: (r.resourceNames ?? []).join(',') });
    }
  }
  return grants;
}

const recordedGroup = (resource: string): string => (resource === 'deployments' ? 'apps' : '');
const expand = (u: Use, c: Case): Array<Omit<Grant, 'namespace'>> =>
  (u.resources[0] === '*recorded*' ? c.records.map((r) => [recordedGroup(r), r] as const) : u.resources.map((r) => [u.group, r] as const))
    .flatMap(([group, resource]) => u.verbs.map((verb) => ({ kind: u.kind, group, resource, verb, names: (u.resourceNames ?? []).join(',') })));
const same = (a: Omit<Grant, 'namespace'>, b: Omit<Grant, 'namespace'>): boolean => a.kind === b.kind && a.group === b.group && a.resource === b.resource && a.verb === b.verb && a.names === b.names;

describe('chart RBAC: every permission has its code path, every code path its permission', () => {
  describe.each(CASES)('$name', (c) => {
    const grants = render(c);
    const uses = USES.filter((u) => u.when?.(c) ?? true).flatMap((u) => expand(u, c));

    it('grants nothing that no code path uses', () => {
      const unused = grants.filter((g) => !uses.some((u) => same(u, g)));
      expect(unused, 'granted but unused').toEqual([]);
    });

    it('grants everything the code paths use', () => {
      const missing = uses.filter((u) => !grants.some((g) => same(u, g)));
      expect(missing, 'used but not granted').toEqual([]);
    });

    it('reads Secrets only where it must: everywhere only when it records them, else in the credentials namespaces', () => {
      const secrets = grants.filter((g) => g.resource === 'secrets');
      if (c.records.includes('secrets')) expect(secrets.every((g) => g.kind === 'ClusterRole')).toBe(true);
      else expect([...new Set(secrets.map((g) => `${g.kind}/${g.namespace}`))].sort()).toEqual(c.customResources ? c.credentialNamespaces.map((n) => `Role/${n}`).sort() : []);
    });
  });

  it('each code path named in the table exists', () => {
    for (const [file, text] of [...USES.flatMap((u) => u.code), ...NO_RBAC]) expect(readFileSync(join(root, file), 'utf8'), `${file}: ${text}`).toContain(text);
  });

  it('every Kubernetes API call site in src/ is accounted for in the table', () => {
    const claimed = [...USES.flatMap((u) => u.code), ...NO_RBAC];
    const callSite = /\bapi\.(send|getJson|streamLines)\b|\bapi\.(send|getJson)<|runListWatch\(\{|new ResourceCache\(|\bthis\.cache\(/;
    const unclaimed: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.includes('/testing/')) {
          const file = relative(root, p);
          readFileSync(p, 'utf8').split('\n').forEach((line, i) => {
            if (callSite.test(line) && !claimed.some(([f, t]) => f === file && line.includes(t)) && !/^\s*(\/\/|\*)/.test(line) && !/^\s*(async )?\*?[a-zA-Z]+<?.*\(.*\): .*\{$/.test(line)) unclaimed.push(`${file}:${i + 1}: ${line.trim()}`);
          });
        }
      }
    };
    walk(join(root, 'src'));
    expect(unclaimed).toEqual([]);
  });
});
