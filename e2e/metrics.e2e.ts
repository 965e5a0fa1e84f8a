// The chart's monitoring proven against Debian's real Prometheus: it scrapes a kubescribe of the
// spec's own (startInstance) every second and evaluates the alert rules rendered by the chart.
// Every dashboard panel query and every alert expression must return data, and the push-failure
// alert (with the chart's default `for:`) must fire when the instance's Git server is down.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { startInstance, type Instance } from './stack/instance.ts';
import { checkRules, grafanaToPromQL, startPrometheus, thresholdsAsBool, type Prometheus, type RuleGroup, type Sample } from './stack/prometheus.ts';
import { repoRoot } from './stack/stack.ts';
import { eventually, freshNamespace, kubectl, stackEnv } from './support.ts';

const exec = promisify(execFile);
const chartDir = join(repoRoot, 'charts', 'kubescribe');

interface Panel { id: number; title: string; targets: Array<{ refId: string; expr: string }> }

/** The rule groups of the PrometheusRule the chart renders with its default alert values. */
async function chartRuleGroups(): Promise<RuleGroup[]> {
  const { stdout } = await exec(stackEnv().bin.helm, ['template', 'kubescribe', chartDir, '--namespace', 'kubescribe',
    '--set', 'metrics.prometheusRule.enabled=true', '--show-only', 'templates/prometheusrule.yaml']);
  const rule = parseAllDocuments(stdout).map((d) => d.toJS() as { kind?: string; spec?: { groups: RuleGroup[] } }).find((d) => d?.kind === 'PrometheusRule');
  if (!rule?.spec) throw new Error('the chart rendered no PrometheusRule');
  return rule.spec.groups;
}

function dashboardQueries(): Array<{ what: string; expr: string }> {
  const dashboard = JSON.parse(readFileSync(join(chartDir, 'dashboards', 'kubescribe.json'), 'utf8')) as { panels: Panel[] };
  // The namespace and pod variables at "All"; a local scrape has neither label, and .* matches the empty value.
  return dashboard.panels.flatMap((p) => p.targets.map((t) => ({ what: `panel ${p.id} "${p.title}" ${t.refId}`, expr: grafanaToPromQL(t.expr, { namespace: '.*', pod: '.*', datasource: '' }) })));
}

function describeResult(samples: Sample[]): string {
  return samples.map((s) => `${JSON.stringify(s.metric)}=${s.value[1]}`).join(', ');
}

describe('metrics, dashboard and alerts on a real Prometheus', () => {
  let inst: Instance | undefined;
  let prom: Prometheus | undefined;
  let ns: string;
  let groups: RuleGroup[];
  const alerts = (): Array<{ alert: string; expr: string; for?: string }> =>
    groups.flatMap((g) => g.rules).filter((r) => typeof r.alert === 'string') as Array<{ alert: string; expr: string; for?: string }>;

  beforeAll(async () => {
    const env = stackEnv();
    ns = await freshNamespace('metrics');
    groups = await chartRuleGroups();
    inst = await startInstance(env, { name: 'metrics', namespaces: [ns], resources: ['configmaps'] });
    await inst.startKubescribe();
    prom = await startPrometheus({ parentDir: inst.dir, targets: [new URL(inst.metricsUrl).host], ruleGroups: groups });
  });

  afterAll(async () => {
    await prom?.stop();
    await inst?.close();
  });

  it('has rules that promtool accepts', async () => {
    expect(alerts().map((a) => a.alert).sort()).toEqual(['KubescribeEnrichmentRatioLow', 'KubescribeLastPushTooOld', 'KubescribePipelineNotSynced', 'KubescribePushesFailing', 'KubescribeQueueGrowing', 'KubescribeWebhookErrors']);
    expect(await checkRules(prom!.rulesFile)).toMatch(/SUCCESS: 6 rules found/);
  });

  it('answers every dashboard panel query and every alert expression with data', async () => {
    const p = prom!;
    await eventually('Prometheus scrapes the instance', async () => (await p.query('up{job="kubescribe"} == 1')).length === 1);
    // The watch of ConfigMaps is cluster-wide; changes in a namespace no rule records are no author
    // lookups (they would read as misses and fire KubescribeEnrichmentRatioLow). Made first: the
    // watch handles events in order, so they are behind us once alice's changes are committed.
    const other = await freshNamespace('metrics-other');
    for (let i = 0; i < 4; i++) await kubectl('bob', ['create', 'configmap', `o-${i}`, '-n', other, `--from-literal=n=${i}`]);
    // Traffic: alice creates and patches ConfigMaps in the recorded namespace.
    for (let i = 0; i < 6; i++) await kubectl('alice', ['create', 'configmap', `m-${i}`, '-n', ns, `--from-literal=n=${i}`]);
    for (let i = 0; i < 6; i++) await kubectl('alice', ['patch', 'configmap', `m-${i}`, '-n', ns, '--type=merge', '-p', '{"data":{"patched":"yes"}}']);
    await eventually('the changes pushed and scraped', async () =>
      (await p.query('kubescribe_pending_commits == 0 and on () sum(kubescribe_commits_total{kind="change"}) >= 12')).length === 1, 60_000);
    const lookups = (await (await fetch(inst!.metricsUrl)).text()).split('\n').filter((l) => l.startsWith('kubescribe_enrichment_total')).sort();
    expect(lookups).toEqual(['kubescribe_enrichment_total{result="hit"} 12']);

    const queries = [
      ...dashboardQueries(),
      ...alerts().map((a) => ({ what: `alert ${a.alert}`, expr: thresholdsAsBool(a.expr) })),
    ];
    // Rates need two samples of a series inside their window: poll until every query has data.
    const empty = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const q of queries) {
        const samples = await p.query(q.expr).catch((err: unknown) => String(err));
        if (typeof samples === 'string') out.push(`${q.what}: ${samples}`);
        else if (!samples.some((s) => Number.isFinite(Number(s.value[1])))) out.push(`${q.what}: ${q.expr} -> [${describeResult(samples)}]`);
      }
      return out;
    };
    let last: string[] = ['not evaluated'];
    await eventually('every query returns data', async () => (last = await empty()).length === 0, 30_000, 500).catch(() => undefined);
    expect(last).toEqual([]);
    // The unmodified alert expressions are valid too, and none is even pending on a healthy instance.
    const counters = (await (await fetch(inst!.metricsUrl)).text()).split('\n').filter((l) => /^kubescribe_(enrichment|watch_events|webhook_requests)_total/.test(l)).join('; ');
    for (const a of alerts()) expect(await p.query(a.expr), `${a.alert} (${counters})`).toEqual([]);
    expect(await p.alerts()).toEqual([]);
  });

  it('fires the push-failure alert within a minute of the Git server going down', async () => {
    const p = prom!;
    const instance = inst!;
    const pushFailing = alerts().find((a) => a.alert === 'KubescribePushesFailing')!;
    expect(pushFailing.for).toBe('30s');
    await instance.stopGit();
    try {
      const down = Date.now();
      await kubectl('alice', ['patch', 'configmap', 'm-0', '-n', ns, '--type=merge', '-p', '{"data":{"during":"outage"}}']);
      const firing = await eventually('KubescribePushesFailing firing', async () =>
        (await p.alerts()).find((a) => a.labels.alertname === 'KubescribePushesFailing' && a.state === 'firing'), 75_000, 500);
      expect(Date.now() - down).toBeLessThan(75_000);
      expect(firing.labels).toMatchObject({ severity: 'critical', branch: 'main', repo: instance.git.url });
      expect(firing.annotations.description).toContain(instance.git.url);
    } finally {
      await instance.startGit();
    }
  });
});
