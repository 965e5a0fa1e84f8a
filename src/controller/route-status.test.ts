import { describe, expect, it } from 'vitest';
import { compileRuleSet } from '../rules/rule-set.ts';
import type { Condition } from '../status/status-writer.ts';
import { reportRouteStatus, type TypeProgress } from './route-status.ts';
import { RouteTable } from './route-table.ts';
import { CATALOGUE, gitRepoConfig, watchRule } from './testing/fakes.ts';

const table = RouteTable.build(compileRuleSet({
  repos: [gitRepoConfig('team', 'audit')],
  rules: [watchRule('team', 'cms'), watchRule('team', 'both', { rules: [{ apiGroups: ['', 'apps'], resources: ['configmaps', 'deployments'] }] })],
  clusterRules: [], ownNamespace: 'kubescribe',
}), CATALOGUE).table;

/** The Ready condition each rule got, by name. */
function report(progress: TypeProgress, forbidden = new Map<string, string>()): Record<string, Condition | undefined> {
  const out: Record<string, Condition | undefined> = {};
  reportRouteStatus(table, CATALOGUE, forbidden, progress, (ref, conditions) => { out[ref.name] = conditions.find((c) => c.type === 'Ready'); });
  return out;
}

const progress = (listed: string[], inWebhook: string[]): TypeProgress => ({ listed: (k) => listed.includes(k), inWebhook: (k) => inWebhook.includes(k) });

describe('reportRouteStatus', () => {
  it('a rule is Ready only once each of its types is listed and in the webhook rules', () => {
    const all = ['core/configmaps', 'apps/deployments'];
    expect(report(progress([], all))).toMatchObject({
      cms: { status: 'False', reason: 'Starting', message: expect.stringContaining('the first list of core/configmaps') },
      both: { status: 'False', reason: 'Starting' },
    });
    // configmaps listed, deployments not: only the rule that needs deployments still waits, and says for what.
    const half = report(progress(['core/configmaps'], all));
    expect(half.cms).toMatchObject({ status: 'True', reason: 'Active' });
    expect(half.both).toMatchObject({ status: 'False', reason: 'Starting' });
    expect(half.both!.message).toContain('apps/deployments');
    expect(half.both!.message).not.toContain('core/configmaps');
    // Listed, but the webhook does not cover it yet: a change now would be recorded without its author.
    const outside = report(progress(all, ['core/configmaps']));
    expect(outside.both).toMatchObject({ status: 'False', reason: 'Starting', message: expect.stringContaining("the webhook configuration's rules to cover apps/deployments") });
    // A sync that failed says why.
    const failing = report({ ...progress(all, []), webhookProblem: 'ValidatingWebhookConfiguration kubescribe: 404 not found' });
    expect(failing.cms!.message).toContain("cover core/configmaps (ValidatingWebhookConfiguration kubescribe: 404 not found)");
    expect(report(progress(all, all))).toMatchObject({ cms: { status: 'True', reason: 'Active' }, both: { status: 'True', reason: 'Active' } });
  });

  it('a rule waits for a list taken for it, though another rule of the same type has been listed long since', () => {
    const all = ['core/configmaps', 'apps/deployments'];
    const [cms, both] = table.routes.map((r) => r.key) as [string, string];
    const r = report({ listed: (k, route) => route === both || (k === 'core/configmaps' && route !== cms), inWebhook: () => true });
    expect(r.both).toMatchObject({ status: 'True', reason: 'Active' });
    expect(r.cms).toMatchObject({ status: 'False', reason: 'Starting', message: expect.stringContaining('the first list of core/configmaps') });
    expect(report(progress(all, all)).cms).toMatchObject({ status: 'True', reason: 'Active' });
  });

  it('a forbidden type is reported as such, not as still starting', () => {
    const r = report(progress([], ['core/configmaps']), new Map([['core/configmaps', 'configmaps is forbidden']]));
    expect(r.cms).toMatchObject({ status: 'False', reason: 'AccessDenied' });
  });
});
