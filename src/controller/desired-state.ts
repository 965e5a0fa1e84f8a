// The desired state that is not a custom resource: the settings file's bootstrap repository and
// rule (so kubescribe records without its CRDs), and the Git destinations the compiled rules need —
// one per (repo, branch) that some valid route writes to.
import type { CommitSigning, Credentials } from '../git/index.ts';
import { namespaceFilter } from '../rules/namespace-filter.ts';
import type { Bootstrap, RuleSet } from '../rules/rule-set.ts';
import type { Settings } from '../settings/index.ts';
import { parseResourceName } from '../watch/index.ts';
import type { DestinationConfig } from './destinations.ts';
import { destinationKey } from './route-table.ts';

export function bootstrapFromSettings(settings: Readonly<Settings>): Bootstrap | undefined {
  const git = settings.git;
  if (!git) return undefined;
  return {
    repo: { url: git.url, pushIntervalMs: git.pushIntervalMs, pushMaxCommits: git.pushMaxCommits, authorEmailTemplate: git.authorEmailTemplate, ageRecipients: git.secretEncryption?.ageRecipients },
    branch: git.branch,
    baseFolder: git.baseFolder,
    resourceRules: settings.watch.resources.map((spec) => {
      const p = parseResourceName(spec);
      return { apiGroups: [p.group], resources: [p.resource], operations: ['*' as const] };
    }),
    namespace: namespaceFilter(settings.watch.namespaces.include, settings.watch.namespaces.exclude, settings.ownNamespace),
  };
}

/**
 * One destination per (repo, branch) some route uses. Credentials and signing are read through
 * functions at each push or commit: the settings file's for the bootstrap repository, the Secrets'
 * for a GitRepoConfig.
 */
export interface DestinationSources {
  /** A GitRepoConfig's credentials and signing (from its Secrets). */
  credentials: (repoKey: string) => Credentials | undefined;
  /** Whether a GitRepoConfig's Secrets (credentials, signing key) are still being read for the first time. */
  secretsPending: (repoKey: string) => boolean;
  signing: (repoKey: string) => CommitSigning;
  /** The bootstrap repository's (from the settings). */
  settingsCredentials: () => Credentials | undefined;
  settingsSigning: () => CommitSigning;
}

export function destinationConfigs(ruleSet: RuleSet, sources: DestinationSources): DestinationConfig[] {
  const configs = new Map<string, DestinationConfig>();
  for (const route of ruleSet.routes) {
    const repo = ruleSet.repos.get(route.destination.repoKey);
    if (!repo) continue;
    const key = destinationKey(route.destination);
    configs.set(key, {
      key, repoKey: repo.key, url: repo.url, branch: route.destination.branch,
      pushIntervalMs: repo.pushIntervalMs, pushMaxCommits: repo.pushMaxCommits, authorEmailTemplate: repo.authorEmailTemplate,
      credentials: repo.key === 'settings' ? sources.settingsCredentials : () => sources.credentials(repo.key),
      ...(repo.key === 'settings' ? {} : { secretsPending: () => sources.secretsPending(repo.key) }),
      signing: repo.key === 'settings' ? sources.settingsSigning : () => sources.signing(repo.key),
    });
  }
  return [...configs.values()];
}

/** The rules as one destination's writer sees them: only the routes to it, and its repository. */
export function onlyDestination(ruleSet: RuleSet, destination: string): RuleSet {
  const routes = ruleSet.routes.filter((r) => destinationKey(r.destination) === destination);
  const used = new Set(routes.map((r) => r.destination.repoKey));
  return { repos: new Map([...ruleSet.repos].filter(([k]) => used.has(k))), routes, problems: [] };
}
