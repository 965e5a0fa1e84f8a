import { describe, expect, it } from 'vitest';
import { compileRuleSet } from '../rules/rule-set.ts';
import { parseSettings } from '../settings/index.ts';
import { bootstrapFromSettings, destinationConfigs } from './desired-state.ts';
import { gitRepoConfig, watchRule } from './testing/fakes.ts';

const webhook = { tlsCertFile: '/c', tlsKeyFile: '/k' };

describe('desired state', () => {
  it('one destination per (repo, branch), credentials read through the source at each push', () => {
    const rs = compileRuleSet({
      repos: [gitRepoConfig('team', 'audit', { allowedBranches: ['main', 'prod'] })], clusterRules: [], ownNamespace: 'kubescribe',
      rules: [watchRule('team', 'a'), watchRule('team', 'b', { baseFolder: 'b' }), watchRule('team', 'c', { branch: 'prod' })],
    });
    let token = 'one';
    let reading = true;
    const configs = destinationConfigs(rs, { credentials: () => ({ username: 'x', password: token }), secretsPending: () => reading, signing: () => undefined, settingsCredentials: () => undefined, settingsSigning: () => undefined });
    expect(configs.map((c) => c.key)).toEqual(['team/audit@main', 'team/audit@prod']);
    token = 'two';
    expect(configs[0]!.credentials()).toEqual({ username: 'x', password: 'two' });
    expect(configs[0]!.secretsPending?.()).toBe(true);
    reading = false;
    expect(configs[0]!.secretsPending?.()).toBe(false);
  });

  it('the settings file bootstraps a repository and a rule; none without `git`', () => {
    const settings = parseSettings({ webhook, git: { url: 'https://git.example/a.git' }, watch: { resources: ['configmaps', 'deployments.apps'], namespaces: { exclude: ['kube-*'] } } });
    const b = bootstrapFromSettings(settings)!;
    expect(b.repo.url).toBe('https://git.example/a.git');
    expect(b.resourceRules.map((r) => `${r.apiGroups[0]}/${r.resources[0]}`)).toEqual(['/configmaps', 'apps/deployments']);
    expect(b.namespace('kube-system')).toBe(false);
    expect(b.namespace('shop')).toBe(true);
    expect(bootstrapFromSettings(parseSettings({ webhook }))).toBeUndefined();
  });
});
