// Debian's Prometheus for a spec: a temp folder with a config that scrapes the given targets every
// second and evaluates the given rule groups every second, listening on a free loopback port;
// stopped by the spec. Also the two translations a spec needs to ask it what Grafana and the
// alerting rules would ask: Grafana's variables to plain PromQL, and thresholds to 0/1 answers.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { freePort, isRunning, startDetached, stopProcess, waitFor, type ProcessRecord } from './processes.ts';

const exec = promisify(execFile);

export const PROMETHEUS_BIN = '/usr/bin/prometheus';
export const PROMTOOL_BIN = '/usr/bin/promtool';

export interface RuleGroup { name: string; interval?: string; rules: Array<Record<string, unknown>> }

export interface Sample { metric: Record<string, string>; value: [number, string] }

export interface Alert { labels: Record<string, string>; annotations: Record<string, string>; state: 'pending' | 'firing' | 'inactive'; activeAt?: string; value?: string }

export interface Prometheus {
  url: string;
  dir: string;
  rulesFile: string;
  /** An instant query; throws with Prometheus' message when the query is invalid. */
  query(expr: string): Promise<Sample[]>;
  alerts(): Promise<Alert[]>;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** The folder to create the instance's own temp folder in. */
  parentDir: string;
  /** host:port of each /metrics endpoint to scrape. */
  targets: string[];
  ruleGroups?: RuleGroup[];
  job?: string;
}

function missingBinary(): Error {
  return new Error(`Debian's Prometheus is not installed (${PROMETHEUS_BIN}, ${PROMTOOL_BIN}): run scripts/install-deps.sh or apt-get install prometheus`);
}

export async function startPrometheus(o: PrometheusOptions): Promise<Prometheus> {
  if (!existsSync(PROMETHEUS_BIN)) throw missingBinary();
  await mkdir(o.parentDir, { recursive: true });
  const dir = await mkdtemp(join(o.parentDir, 'prometheus-'));
  const port = await freePort();
  const rulesFile = join(dir, 'rules.yaml');
  await writeFile(rulesFile, stringify({ groups: o.ruleGroups ?? [] }));
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: [rulesFile],
    scrape_configs: [{ job_name: o.job ?? 'kubescribe', metrics_path: '/metrics', static_configs: [{ targets: o.targets }] }],
  };
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, stringify(config));
  const url = `http://127.0.0.1:${port}`;
  const proc: ProcessRecord = startDetached(PROMETHEUS_BIN, [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=1h',
    '--log.level=warn',
  ], { log: join(dir, 'prometheus.log'), marker: `kubescribe-prometheus-${port}`, cwd: dir });
  const stop = (): Promise<void> => stopProcess(proc, 10_000);
  try {
    await waitFor(`Prometheus on ${url} (log ${join(dir, 'prometheus.log')})`, async () => {
      if (!isRunning(proc)) throw new Error(`prometheus exited; see ${join(dir, 'prometheus.log')}`);
      return (await fetch(`${url}/-/ready`)).status === 200;
    }, 30_000, 100);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url, dir, rulesFile, stop,
    async query(expr) {
      const res = await fetch(`${url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }) });
      const body = await res.json() as { status: string; error?: string; data?: { resultType: string; result: unknown } };
      if (body.status !== 'success') throw new Error(`query failed (${body.error ?? res.status}): ${expr}`);
      const { resultType, result } = body.data!;
      if (resultType === 'scalar') return [{ metric: {}, value: result as [number, string] }];
      if (resultType !== 'vector') throw new Error(`unexpected result type ${resultType} for ${expr}`);
      return result as Sample[];
    },
    async alerts() {
      const body = await (await fetch(`${url}/api/v1/alerts`)).json() as { data: { alerts: Alert[] } };
      return body.data.alerts;
    },
  };
}

/** `promtool check rules FILE`: resolves with its output, rejects with it when the file is invalid. */
export async function checkRules(file: string): Promise<string> {
  if (!existsSync(PROMTOOL_BIN)) throw missingBinary();
  try {
    const { stdout, stderr } = await exec(PROMTOOL_BIN, ['check', 'rules', file]);
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool check rules ${file} failed: ${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

/** Grafana's interval variables as a dashboard at its defaults would resolve them for a 1s scrape. */
export const GRAFANA_BUILTINS: Readonly<Record<string, string>> = { __rate_interval: '1m', __interval: '15s', __range: '5m' };

/**
 * A panel's query as Grafana sends it to Prometheus: `$var`, `${var}` and `[[var]]` replaced by
 * `vars` (dashboard variables, e.g. "All" as `.*`) or Grafana's interval variables. Throws on a
 * variable it does not know, so that a dashboard cannot use one it does not define.
 */
export function grafanaToPromQL(expr: string, vars: Readonly<Record<string, string>>): string {
  const all = { ...GRAFANA_BUILTINS, ...vars };
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (_m, a: string | undefined, b: string | undefined, c: string | undefined) => {
    const name = (a ?? b ?? c)!;
    const v = all[name];
    if (v === undefined) throw new Error(`unknown Grafana variable $${name} in ${expr}`);
    return v;
  });
}

/** The variables a Grafana expression uses (without Grafana's own). */
export function grafanaVariables(expr: string): string[] {
  const names = [...expr.matchAll(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g)].map((m) => (m[1] ?? m[2] ?? m[3])!);
  return [...new Set(names)].filter((n) => !(n in GRAFANA_BUILTINS));
}

/**
 * An alert expression with every threshold comparison turned into a 0/1 answer (`x > 5` becomes
 * `x > bool 5`): Prometheus then returns a sample for every series the alert watches, firing or
 * not, so "returns data" proves that every metric it needs exists and the expression evaluates.
 * Comparisons are recognised by the spaces around them, as the chart writes them (label matchers
 * like `{outcome=~"error"}` have none).
 */
export function thresholdsAsBool(expr: string): string {
  return expr.replace(/\s(==|!=|>=|<=|>|<)\s+(?!bool\b)/g, ' $1 bool ');
}
