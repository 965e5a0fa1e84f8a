// Compiles the configuration — GitRepoConfigs, WatchRules, ClusterWatchRules, plus the optional
// bootstrap from the settings file — into what the controller runs: repositories and routes. A route
// says which changes (resource rules, namespaces, labels, operations, excluded users and field
// managers) go to which destination (repo, branch, base folder). Problems become status reasons
// (InvalidSpec, BranchNotAllowed, ...) with a message saying what to fix, never a crash.
import type { Author } from '../correlation/index.ts';
import type { KubeObject, ResourceType } from '../kube-object.ts';
import type { Change } from '../change.ts';
import { glob } from './namespace-filter.ts';
import { selectorMatcher } from './label-selector.ts';
import { ClusterWatchRuleSpecSchema, GitRepoConfigSpecSchema, WatchRuleSpecSchema, type ResourceRule } from './schemas.ts';

export interface ObjectRef { kind: 'GitRepoConfig' | 'WatchRule' | 'ClusterWatchRule'; namespace: string; name: string; generation: number }

export interface RepoTarget {
  key: string;
  ref?: ObjectRef;
  url: string;
  /** A Secret to read credentials from, or undefined (settings-file credentials or anonymous). */
  secret?: { namespace: string; name: string };
  /** A Secret holding the commit signing key (signing.key), or undefined: commits unsigned. */
  signingSecret?: { namespace: string; name: string };
  allowedBranches: string[];
  pushIntervalMs: number;
  pushMaxCommits: number;
  authorEmailTemplate: string;
  /** age public keys Secrets are encrypted to (SOPS); empty: redacted by a keyed hash. */
  ageRecipients?: readonly string[];
}

export interface Destination { repoKey: string; branch: string }

export interface Route {
  key: string;
  ref?: ObjectRef;
  destination: Destination;
  baseFolder: string;
  /** age public keys Secrets are encrypted to (SOPS); empty: redacted by a keyed hash. */
  ageRecipients: readonly string[];
  resourceRules: ResourceRule[];
  /** Whether objects in this namespace ('' = cluster-scoped) are recorded by the route. */
  namespace: (ns: string, nsLabels: Readonly<Record<string, string>> | undefined) => boolean;
  /** The one namespace the route can record anything in (a WatchRule's own); undefined: any. */
  onlyNamespace?: string;
  labels: (labels: Readonly<Record<string, string>> | undefined) => boolean;
  /** The operations recorded for this type: those of the rule entries that name it (not of the others). */
  operations: (type: ResourceType) => ReadonlySet<string>;
  excluded: (author: Author | undefined) => boolean;
}

export interface Problem { ref: ObjectRef; reason: 'InvalidSpec' | 'BranchNotAllowed' | 'SecretNotFound'; message: string }

export interface RuleSet { repos: Map<string, RepoTarget>; routes: Route[]; problems: Problem[] }

export interface CustomResource { metadata?: { name?: string; namespace?: string; generation?: number; deletionTimestamp?: string }; spec?: unknown }

export const repoKey = (namespace: string, name: string): string => `${namespace}/${name}`;

function refOf(kind: ObjectRef['kind'], o: CustomResource): ObjectRef {
  return { kind, namespace: o.metadata?.namespace ?? '', name: o.metadata?.name ?? '', generation: o.metadata?.generation ?? 0 };
}

function zodMessage(err: { issues: Array<{ path: PropertyKey[]; message: string }> }): string {
  return err.issues.map((i) => `spec.${i.path.map(String).join('.')}: ${i.message}`).join('; ');
}

function globs(patterns: readonly string[]): (s: string) => boolean {
  const res = patterns.map(glob);
  return (s) => res.some((r) => r.test(s));
}

function exclusion(users: readonly string[], managers: readonly string[]): Route['excluded'] {
  const u = globs(users);
  const m = globs(managers);
  return (a) => !!a && (u(a.username) || (a.fieldManager !== undefined && m(a.fieldManager)));
}

const ALL_OPERATIONS: ReadonlySet<string> = new Set(['CREATE', 'UPDATE', 'DELETE']);

/** Per type, the operations of the rule entries that cover it: `{configmaps: [DELETE]}` beside `{deployments: [*]}` records only ConfigMap deletions. */
function operationsOf(rules: readonly ResourceRule[]): Route['operations'] {
  const cache = new Map<string, ReadonlySet<string>>();
  return (type) => {
    const key = `${type.group}/${type.resource}`;
    let ops = cache.get(key);
    if (!ops) {
      const named = new Set(rules.filter((r) => ruleCovers(r, type)).flatMap((r) => r.operations));
      ops = named.has('*') ? ALL_OPERATIONS : named;
      cache.set(key, ops);
    }
    return ops;
  };
}

export interface Bootstrap {
  repo: Omit<RepoTarget, 'key' | 'ref' | 'secret' | 'allowedBranches'>;
  branch: string;
  baseFolder: string;
  resourceRules: ResourceRule[];
  namespace: (ns: string) => boolean;
}

export function compileRuleSet(input: { repos: CustomResource[]; rules: CustomResource[]; clusterRules: CustomResource[]; bootstrap?: Bootstrap; ownNamespace: string }): RuleSet {
  const repos = new Map<string, RepoTarget>();
  const routes: Route[] = [];
  const problems: Problem[] = [];
  const notOwn = (ns: string): boolean => ns !== input.ownNamespace;

  if (input.bootstrap) {
    const b = input.bootstrap;
    repos.set('settings', { ...b.repo, key: 'settings', allowedBranches: ['*'] });
    routes.push({
      key: 'settings', destination: { repoKey: 'settings', branch: b.branch }, baseFolder: b.baseFolder, resourceRules: b.resourceRules, ageRecipients: b.repo.ageRecipients ?? [],
      namespace: (ns) => notOwn(ns) && b.namespace(ns), labels: () => true, operations: () => ALL_OPERATIONS, excluded: () => false,
    });
  }

  for (const o of input.repos) {
    if (o.metadata?.deletionTimestamp) continue;
    const ref = refOf('GitRepoConfig', o);
    const parsed = GitRepoConfigSpecSchema.safeParse(o.spec);
    if (!parsed.success) { problems.push({ ref, reason: 'InvalidSpec', message: zodMessage(parsed.error) }); continue; }
    const s = parsed.data;
    const key = repoKey(ref.namespace, ref.name);
    repos.set(key, {
      key, ref, url: s.url, secret: s.secretRef ? { namespace: ref.namespace, name: s.secretRef.name } : undefined,
      allowedBranches: s.allowedBranches, pushIntervalMs: s.push.intervalSeconds * 1000, pushMaxCommits: s.push.maxCommits,
      authorEmailTemplate: s.commit.authorEmailTemplate, ageRecipients: s.secretEncryption?.ageRecipients ?? [],
      signingSecret: s.commit.signing ? { namespace: ref.namespace, name: s.commit.signing.secretRef.name } : undefined,
    });
  }

  const addRule = (kind: 'WatchRule' | 'ClusterWatchRule', o: CustomResource): void => {
    if (o.metadata?.deletionTimestamp) return;
    const ref = refOf(kind, o);
    const parsed = (kind === 'WatchRule' ? WatchRuleSpecSchema : ClusterWatchRuleSpecSchema).safeParse(o.spec);
    if (!parsed.success) { problems.push({ ref, reason: 'InvalidSpec', message: zodMessage(parsed.error) }); return; }
    const s = parsed.data;
    const grcRef: { name: string; namespace?: string } = s.gitRepoConfigRef;
    const refNs = grcRef.namespace ?? ref.namespace;
    const repo = repos.get(repoKey(refNs, s.gitRepoConfigRef.name));
    if (!repo) {
      problems.push({ ref, reason: 'InvalidSpec', message: `spec.gitRepoConfigRef: GitRepoConfig ${refNs}/${s.gitRepoConfigRef.name} does not exist or is invalid` });
      return;
    }
    if (!globs(repo.allowedBranches)(s.branch)) {
      problems.push({ ref, reason: 'BranchNotAllowed', message: `spec.branch: ${s.branch} is not allowed by GitRepoConfig ${repo.key} (allowedBranches: ${repo.allowedBranches.join(', ')})` });
      return;
    }
    let namespace: Route['namespace'];
    if (kind === 'WatchRule') {
      namespace = (ns) => ns === ref.namespace && notOwn(ns);
    } else {
      const c = ClusterWatchRuleSpecSchema.parse(o.spec);
      const nsSel = selectorMatcher(c.namespaceSelector);
      namespace = (ns, nsLabels) => {
        if (ns === '') return c.scope !== 'Namespaced';
        return c.scope !== 'Cluster' && notOwn(ns) && nsSel(nsLabels);
      };
    }
    routes.push({
      key: `${kind}/${ref.namespace}/${ref.name}`, ref, destination: { repoKey: repo.key, branch: s.branch }, baseFolder: s.baseFolder,
      ...(kind === 'WatchRule' ? { onlyNamespace: ref.namespace } : {}),
      ageRecipients: s.secretEncryption?.ageRecipients ?? repo.ageRecipients ?? [],
      resourceRules: s.rules, namespace, labels: selectorMatcher(s.labelSelector), operations: operationsOf(s.rules),
      excluded: exclusion(s.excludeUsers, s.excludeFieldManagers),
    });
  };
  for (const o of input.rules) addRule('WatchRule', o);
  for (const o of input.clusterRules) addRule('ClusterWatchRule', o);
  return { repos, routes, problems };
}

/** Resource types that `*` never expands to: high-churn types nobody audits, named explicitly if wanted. */
const NOT_BY_WILDCARD = new Set(['events', 'events.events.k8s.io', 'leases.coordination.k8s.io', 'endpoints', 'endpointslices.discovery.k8s.io', 'componentstatuses']);

/** The resource types of the catalogue (from discovery) that a rule list covers. */
export function typesFor(rules: readonly ResourceRule[], catalogue: readonly ResourceType[]): ResourceType[] {
  return catalogue.filter((t) => rules.some((r) => ruleCovers(r, t)));
}

/** Whether one rule entry names this type (directly, or by `*` where `*` reaches). */
function ruleCovers(r: ResourceRule, t: { group: string; resource: string }): boolean {
  if (!(r.apiGroups.includes('*') || r.apiGroups.includes(t.group))) return false;
  if (r.resources.includes(t.resource)) return true;
  const qualified = t.group === '' ? t.resource : `${t.resource}.${t.group}`;
  return r.resources.includes('*') && !NOT_BY_WILDCARD.has(qualified);
}

/** Does the route hold this object (what a reconcile of its folder keeps), given its namespace's labels? */
export function selectsObject(route: Route, obj: KubeObject, nsLabels: (ns: string) => Readonly<Record<string, string>> | undefined): boolean {
  const ns = obj.metadata?.namespace ?? '';
  return route.namespace(ns, nsLabels(ns)) && route.labels(obj.metadata?.labels);
}

/** Does the route record this change (operation and object), its author aside? Exclusions need the author. */
export function recordsChange(route: Route, change: Change, nsLabels: (ns: string) => Readonly<Record<string, string>> | undefined): boolean {
  return route.operations(change.type).has(change.operation) && selectsObject(route, change.object, nsLabels);
}
