import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { KubescribeError } from '../errors.ts';
import { Checkpoints } from '../git/checkpoints.ts';
import { createMetrics } from '../metrics/metrics.ts';
import { compileRuleSet, type ObjectRef } from '../rules/rule-set.ts';
import type { Condition } from '../status/status-writer.ts';
import { destinationEvents } from './destination-events.ts';
import type { DestinationConfig } from './destinations.ts';
import { RouteTable } from './route-table.ts';
import { CATALOGUE, gitRepoConfig, watchRule } from './testing/fakes.ts';

function setup(opts: { credentialsProblem?: boolean; clusterUid?: string; queueDepth?: (key: string, depth: number) => void } = {}) {
  const rs = compileRuleSet({ repos: [gitRepoConfig('team', 'audit')], rules: [watchRule('team', 'a'), watchRule('team', 'b', { baseFolder: 'b' })], clusterRules: [], ownNamespace: 'kubescribe' });
  const { table } = RouteTable.build(rs, CATALOGUE);
  const reports: Array<{ ref: ObjectRef; conditions: Condition[]; extra?: Record<string, unknown> }> = [];
  const relists: Array<{ types: string[]; routes: readonly string[] }> = [];
  const registry = new Registry();
  const events = destinationEvents({
    metrics: createMetrics(registry), report: (ref, conditions, extra) => reports.push({ ref, conditions, extra }), logger: pino({ level: 'silent' }),
    repoRef: (key) => rs.repos.get(key)?.ref, credentialsProblem: () => (opts.credentialsProblem ? { reason: 'SecretInvalid' } : undefined),
    destinations: () => ({ pending: () => 3, writer: () => undefined }), table: () => table, folder: (b) => b,
    clusterNow: async () => ({ uid: opts.clusterUid ?? 'this-cluster', resourceVersion: '1000' }),
    relist: (types, _reason, routes) => relists.push({ types: [...types], routes }),
    ...(opts.queueDepth ? { queueDepth: opts.queueDepth } : {}),
  });
  const dest: DestinationConfig = { key: 'team/audit@main', repoKey: 'team/audit', url: 'https://u:secret@git.example/audit.git', branch: 'main', pushIntervalMs: 1, pushMaxCommits: 1, authorEmailTemplate: '', credentials: () => undefined, signing: () => undefined };
  return { events, reports, relists, registry, dest };
}

const reason = (r: { conditions: Condition[] }) => r.conditions.find((c) => c.type === 'Ready')?.reason;

describe('destination events', () => {
  it('a push shows in the GitRepoConfig status and the metrics, never with the URL credentials', async () => {
    const { events, reports, registry, dest } = setup();
    events.pushed?.(dest, { ok: true, sha: 'abc', pushedCommits: 2, pushedBytes: 1500, durationMs: 30, at: new Date() });
    events.pushed?.(dest, { ok: false, pushedCommits: 0, durationMs: 30, at: new Date(), error: new KubescribeError('KUBESCRIBE_ERR_GIT_AUTH', 'denied') });
    // A push that failed after a round landed: that round's bytes count.
    events.pushed?.(dest, { ok: false, pushedCommits: 1, pushedBytes: 700, durationMs: 30, at: new Date(), error: new KubescribeError('KUBESCRIBE_ERR_GIT_UNREACHABLE', 'down') });
    expect(reports.map((r) => [r.ref.name, reason(r), r.extra?.pendingCommits])).toEqual([['audit', 'Pushed', 3], ['audit', 'AccessDenied', 3], ['audit', 'RepoUnreachable', 3]]);
    const text = await registry.metrics();
    expect(text).toContain('kubescribe_pushed_bytes_total{repo="https://git.example/audit.git",branch="main"} 2200');
    expect(text).toContain('repo="https://git.example/audit.git"');
    expect(text).not.toContain('secret');
  });

  it('an open failure does not hide a credentials problem already reported', () => {
    const { events, reports, dest } = setup({ credentialsProblem: true });
    events.openFailed?.(dest, new KubescribeError('KUBESCRIBE_ERR_GIT_UNREACHABLE', 'down'));
    expect(reports).toEqual([]);
    const other = setup();
    other.events.openFailed?.(other.dest, new KubescribeError('KUBESCRIBE_ERR_GIT_UNREACHABLE', 'down'));
    expect(other.reports.map(reason)).toEqual(['RepoUnreachable']);
  });

  it('a checkpoint from another cluster is dropped and reported on the rules of its folder and the repository', async () => {
    const { events, reports, dest } = setup();
    const file = JSON.stringify({ cluster: { name: 'old', uid: 'other-cluster' }, resourceVersions: { 'b|core/configmaps': '900' } });
    const checkpoints = await Checkpoints.load(async () => file);
    await events.checkpointsLoaded?.(dest, checkpoints);
    expect(checkpoints.get('b|core/configmaps')).toBeUndefined();
    expect(reports.map((r) => [r.ref.kind, r.ref.name, (r.extra?.checkpoint as { reason: string }).reason])).toEqual([
      ['WatchRule', 'b', 'CheckpointFromOtherCluster'], ['GitRepoConfig', 'audit', 'CheckpointFromOtherCluster'],
    ]);
  });

  it('a destination back after overflowing relists every type routed to it', () => {
    const { events, relists, dest } = setup();
    events.needsResync?.(dest);
    expect(relists).toEqual([{ types: ['core/configmaps'], routes: expect.arrayContaining([expect.any(String), expect.any(String)]) }]);
  });

  it('a closed destination takes its gauges with it, so no alert stays up for a repository that was removed', async () => {
    const depths: Array<[string, number]> = [];
    const { events, registry, dest } = setup({ queueDepth: (key, n) => depths.push([key, n]) });
    events.depth?.(dest, 1200, 90_000);
    events.pushed?.(dest, { ok: false, pushedCommits: 0, durationMs: 30, at: new Date(), error: new KubescribeError('KUBESCRIBE_ERR_GIT_UNREACHABLE', 'down') });
    const series = async () => (await registry.metrics()).split('\n').filter((l) => /^kubescribe_(queue_depth|queue_bytes|pending_commits|last_successful_push)/.test(l));
    expect(await series()).toHaveLength(3);
    events.closed?.(dest);
    expect(await series()).toEqual([]);
    expect(depths).toEqual([['team/audit@main', 1200], ['team/audit@main', 0]]);
  });
});
