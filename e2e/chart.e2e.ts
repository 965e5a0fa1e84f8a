// The Helm chart: `helm lint` and `helm template` for each variant of the values, the rendered
// manifests checked for what kubescribe needs (settings valid for the app's own schema, every file
// the settings name mounted, least-privilege RBAC, a webhook that never blocks) and applied with
// `kubectl apply --dry-run=server` to the real apiserver, with the CRDs of ServiceMonitor,
// PrometheusRule, Issuer and Certificate (e2e/fixtures/crds) installed first. Also: the
// self-signed CA survives an upgrade, and the dashboard and alerts are valid and use only metrics
// that kubescribe exports.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { createMetrics } from '../src/metrics/metrics.ts';
import { parseSettings } from '../src/settings/index.ts';
import { checkRules, grafanaToPromQL, grafanaVariables, type RuleGroup } from './stack/prometheus.ts';
import { repoRoot } from './stack/stack.ts';
import { freshNamespace, helm, kubectl, stackEnv } from './support.ts';

const chartDir = join(repoRoot, 'charts', 'kubescribe');
const crdDir = join(repoRoot, 'e2e', 'fixtures', 'crds');
const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding', 'ValidatingWebhookConfiguration']);

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}
// Loose views of the rendered objects, for reading nested fields in checks.
type Loose = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let tmp: string;

async function valuesFile(values: Record<string, unknown>): Promise<string> {
  const file = join(tmp, `values-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, stringify(values));
  return file;
}

async function render(ns: string, values: Record<string, unknown>, extra: string[] = []): Promise<Obj[]> {
  const out = await helm(['template', 'kubescribe', chartDir, '--namespace', ns, '-f', await valuesFile(values), ...extra]);
  return parseAllDocuments(out).map((d) => d.toJS() as Obj | null).filter((o): o is Obj => o !== null);
}

function one(objs: Obj[], kind: string, name?: string): Loose {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(found.map((o) => `${o.kind}/${o.metadata.name}`), `exactly one ${kind}${name ? ` ${name}` : ''}`).toHaveLength(1);
  return found[0] as Loose;
}

const kinds = (objs: Obj[]): string[] => objs.map((o) => o.kind);

/** What must hold for every variant. */
function commonChecks(objs: Obj[], ns: string): void {
  for (const o of objs) {
    if (CLUSTER_SCOPED.has(o.kind)) expect(o.metadata.namespace, `${o.kind} is cluster-scoped`).toBeUndefined();
    else expect(o.metadata.namespace, `${o.kind}/${o.metadata.name} namespace`).toBe(ns);
  }
  const cm = one(objs, 'ConfigMap', 'kubescribe');
  const raw = parse(cm.data['settings.yaml'] as string) as Loose;
  const settings = parseSettings(raw);
  expect(settings.ownNamespace).toBe(ns);
  expect(settings.kubernetes.kubeconfig).toBeUndefined(); // in-cluster

  const deploy = one(objs, 'Deployment');
  const pod = deploy.spec.template.spec;
  const [c] = pod.containers;
  expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
  expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  expect(c.args).toEqual(['run', '--settings', '/etc/kubescribe/settings.yaml']);
  expect(c.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 'http' });
  expect(c.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
  expect(c.resources.requests).toBeDefined();
  const port = (name: string): number => c.ports.find((p: Loose) => p.name === name).containerPort;
  expect(port('webhook')).toBe(settings.webhook.port);
  expect(port('http')).toBe(settings.server.port);
  // Every file the settings name is mounted: /etc/kubescribe is one projected volume.
  const mounts = new Map<string, Loose>(c.volumeMounts.map((m: Loose) => [m.mountPath, m]));
  const volumes = new Map<string, Loose>(pod.volumes.map((v: Loose) => [v.name, v]));
  const projected = volumes.get(mounts.get('/etc/kubescribe')!.name)!.projected;
  const files = new Set<string>(projected.sources.flatMap((s: Loose) => (s.configMap ?? s.secret).items.map((i: Loose) => `/etc/kubescribe/${i.path}`)));
  for (const f of [settings.webhook.tlsCertFile, settings.webhook.tlsKeyFile, settings.sanitize.secretHashKeyFile, settings.git?.usernameFile, settings.git?.passwordFile, settings.git?.ssh?.identityFile, settings.git?.ssh?.knownHostsFile, settings.git?.ssh?.passphraseFile, '/etc/kubescribe/settings.yaml']) {
    if (f !== undefined) expect(files, `${f} is mounted`).toContain(f);
  }
  expect(volumes.get(mounts.get(settings.dataDir)!.name)!.emptyDir).toBeDefined();

  const vwc = one(objs, 'ValidatingWebhookConfiguration');
  expect(vwc.webhooks).toHaveLength(1);
  // kubescribe keeps the rules of exactly this configuration equal to what it records.
  expect(raw.webhook.configurationName).toBe(vwc.metadata.name);
  const wh = vwc.webhooks[0];
  expect(wh).toMatchObject({ failurePolicy: 'Ignore', sideEffects: 'NoneOnDryRun', admissionReviewVersions: ['v1'] });
  expect(wh.timeoutSeconds).toBeGreaterThanOrEqual(2);
  expect(wh.timeoutSeconds).toBeLessThanOrEqual(5);
  const excluded = wh.namespaceSelector.matchExpressions.find((e: Loose) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn').values;
  expect(excluded).toEqual(expect.arrayContaining([ns, 'kube-system']));
  const svc = one(objs, 'Service', wh.clientConfig.service.name);
  expect(wh.clientConfig.service).toMatchObject({ namespace: ns, path: '/admission' });
  expect(svc.spec.ports.find((p: Loose) => p.port === wh.clientConfig.service.port).targetPort).toBe('webhook');
  const recorded = settings.watch.resources.map((r) => r.split('/'));
  for (const r of recorded) {
    const [group, version, resource] = r.length === 2 ? ['', r[0], r[1]] : r;
    expect(wh.rules.some((rule: Loose) => rule.apiGroups.includes(group) && rule.apiVersions.includes(version) && rule.resources.includes(resource)), `webhook rule for ${r.join('/')}`).toBe(true);
  }
  // Namespace DELETEs, recorded or not: the cause named on the namespace controller's deletions.
  expect(wh.rules).toContainEqual({ apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces'], operations: ['DELETE'], scope: '*' });

  // Least privilege (each rule's code path: src/rbac-usage.test.ts): list/watch on the recorded
  // resources; writes only on its own webhook configuration (by name), the status of its own custom
  // resources, and its Lease (in its namespace only).
  const role = one(objs, 'ClusterRole');
  for (const r of recorded) {
    const [group, resource] = r.length === 2 ? ['', r[1]] : [r[0], r[2]];
    expect(role.rules.some((rule: Loose) => rule.apiGroups.includes(group) && rule.resources.includes(resource)), `RBAC for ${r.join('/')}`).toBe(true);
  }
  for (const rule of role.rules as Loose[]) {
    expect(JSON.stringify(rule)).not.toContain('"*"');
    if (!recorded.some((r) => r.at(-1) === 'secrets')) expect(rule.resources, 'Secrets only when recorded').not.toContain('secrets');
    if (rule.verbs.some((v: string) => !['list', 'watch'].includes(v))) {
      const ownWebhook = rule.resources.join() === 'validatingwebhookconfigurations' && rule.resourceNames?.join() === vwc.metadata.name;
      const ownStatus = rule.apiGroups.join() === 'kubescribe.dev' && rule.resources.every((r: string) => r.endsWith('/status'));
      expect(ownWebhook || ownStatus, `write access in ${JSON.stringify(rule)}`).toBe(true);
    }
  }
  const leaseRole = objs.find((o) => o.kind === 'Role' && JSON.stringify((o as Loose).rules).includes('leases')) as Loose;
  expect(leaseRole.rules).toEqual([
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [settings.leaderElection.leaseName], verbs: ['get', 'update'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
  ]);
  expect(one(objs, 'ClusterRoleBinding').subjects).toEqual([{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: ns }]);

  const peers = objs.find((o) => o.kind === 'Service' && (o as Loose).spec.clusterIP === 'None') as Loose | undefined;
  expect(peers?.spec.publishNotReadyAddresses).toBe(true);
}

function decodePem(b64: string): X509Certificate {
  return new X509Certificate(Buffer.from(b64, 'base64'));
}

function checkSelfSigned(objs: Obj[], ns: string): void {
  const tls = one(objs, 'Secret', 'kubescribe-webhook-tls');
  const wh = one(objs, 'ValidatingWebhookConfiguration').webhooks[0];
  expect(wh.clientConfig.caBundle).toBe(tls.data['ca.crt']);
  const ca = decodePem(tls.data['ca.crt']);
  const cert = decodePem(tls.data['tls.crt']);
  expect(cert.verify(ca.publicKey)).toBe(true);
  expect(cert.subjectAltName).toContain(`DNS:${wh.clientConfig.service.name}.${ns}.svc`);
  expect(kinds(objs)).not.toContain('Certificate');
}

const variants: Array<{ name: string; values: Record<string, unknown>; check: (objs: Obj[], ns: string) => void }> = [
  {
    name: 'default values',
    values: {},
    check: (objs, ns) => {
      checkSelfSigned(objs, ns);
      expect(kinds(objs)).not.toContain('PodDisruptionBudget');
      expect(kinds(objs)).not.toContain('ServiceMonitor');
      const dash = one(objs, 'ConfigMap', 'kubescribe-dashboard');
      expect(dash.metadata.labels.grafana_dashboard).toBe('1');
      expect(JSON.parse(dash.data['kubescribe.json'])).toEqual(JSON.parse(readFileSync(join(chartDir, 'dashboards', 'kubescribe.json'), 'utf8')));
      // The generated hash key survives uninstall: a new key would change every Secret marker.
      expect(one(objs, 'Secret', 'kubescribe-hash-key').metadata.annotations['helm.sh/resource-policy']).toBe('keep');
    },
  },
  {
    name: 'bootstrap repository with credentials, self-signed TLS, ServiceMonitor and PrometheusRule',
    values: {
      git: { url: 'https://git.example.org/audit.git', credentials: { username: 'scribe', password: 's3cret' }, proxy: { url: 'http://proxy.internal:3128', noProxy: ['.svc'] }, caBundle: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' },
      webhook: { tls: { mode: 'selfSigned' } },
      metrics: { serviceMonitor: { enabled: true, labels: { release: 'prom' } }, prometheusRule: { enabled: true } },
    },
    check: (objs, ns) => {
      checkSelfSigned(objs, ns);
      const git = one(objs, 'Secret', 'kubescribe-git');
      expect(Buffer.from(git.data.password, 'base64').toString()).toBe('s3cret');
      const settings = parse(one(objs, 'ConfigMap', 'kubescribe').data['settings.yaml']) as Loose;
      expect(settings.git).toMatchObject({ url: 'https://git.example.org/audit.git', usernameFile: '/etc/kubescribe/git/username', passwordFile: '/etc/kubescribe/git/password' });
      expect(settings.gitTransport).toEqual({ proxyUrl: 'http://proxy.internal:3128', noProxy: ['.svc'] });
      const container = one(objs, 'Deployment').spec.template.spec.containers[0];
      expect(container.env).toContainEqual({ name: 'NODE_EXTRA_CA_CERTS', value: '/etc/kubescribe/git/ca.crt' });
      const sm = one(objs, 'ServiceMonitor');
      const svc = objs.find((o) => o.kind === 'Service' && Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v)) as Loose;
      expect(svc.spec.ports.map((p: Loose) => p.name)).toContain(sm.spec.endpoints[0].port);
      expect(one(objs, 'PrometheusRule').spec.groups[0].rules.length).toBe(6);
    },
  },
  {
    name: 'one of several clusters, Secrets recorded and SOPS-encrypted',
    values: {
      git: { url: 'https://git.example.org/audit.git', secretEncryption: { ageRecipients: ['age1382232xnheet0wm74jdjpy7zw2526dtfcywe0wk7f30tla05mcnqa9wj08'] } },
      cluster: { name: 'eu-1', folder: 'clusters/eu-1' },
      watch: { resources: [{ group: '', version: 'v1', resource: 'secrets' }] },
    },
    check: (objs) => {
      const settings = parse(one(objs, 'ConfigMap', 'kubescribe').data['settings.yaml']) as Loose;
      expect(settings.cluster).toEqual({ name: 'eu-1', folder: 'clusters/eu-1' });
      expect(settings.git.secretEncryption).toEqual({ ageRecipients: ['age1382232xnheet0wm74jdjpy7zw2526dtfcywe0wk7f30tla05mcnqa9wj08'] });
      // Recording Secrets is what grants reading them (cluster-wide); no separate credentials Role then.
      const role = one(objs, 'ClusterRole');
      expect(role.rules.some((r: Loose) => r.resources.includes('secrets') && r.verbs.join() === 'list,watch')).toBe(true);
      expect(objs.filter((o) => o.kind === 'Role').map((o) => o.metadata.name)).toEqual(['kubescribe']);
    },
  },
  {
    name: 'cert-manager with its own Issuer',
    values: { webhook: { tls: { mode: 'certManager' } }, metrics: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true } } },
    check: (objs, ns) => {
      const cert = one(objs, 'Certificate');
      const issuer = one(objs, 'Issuer');
      expect(cert.spec.issuerRef).toMatchObject({ name: issuer.metadata.name, kind: 'Issuer' });
      const wh = one(objs, 'ValidatingWebhookConfiguration');
      expect(wh.metadata.annotations['cert-manager.io/inject-ca-from']).toBe(`${ns}/${cert.metadata.name}`);
      expect(wh.webhooks[0].clientConfig.caBundle).toBeUndefined();
      expect(cert.spec.dnsNames).toContain(`${wh.webhooks[0].clientConfig.service.name}.${ns}.svc`);
      const volume = one(objs, 'Deployment').spec.template.spec.volumes.find((v: Loose) => v.projected).projected;
      expect(volume.sources.map((s: Loose) => s.secret?.name)).toContain(cert.spec.secretName);
      expect(objs.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name)).not.toContain(cert.spec.secretName);
    },
  },
  {
    name: 'cert-manager with a ClusterIssuer and existing Secrets',
    values: {
      webhook: { tls: { mode: 'certManager', certManager: { issuerRef: { name: 'corp-ca', kind: 'ClusterIssuer' } } } },
      git: { credentials: { existingSecret: 'git-creds', usernameKey: 'user', passwordKey: 'token' } },
      sanitize: { secretHashKey: { existingSecret: 'hash', key: 'hmac' } },
      peers: { existingSecret: 'peer' },
    },
    check: (objs) => {
      expect(kinds(objs)).not.toContain('Issuer');
      expect(kinds(objs)).not.toContain('Secret');
      expect(one(objs, 'Certificate').spec.issuerRef).toEqual({ name: 'corp-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' });
      const secrets = one(objs, 'Deployment').spec.template.spec.volumes.find((v: Loose) => v.projected).projected.sources.filter((s: Loose) => s.secret).map((s: Loose) => s.secret);
      expect(secrets).toEqual(expect.arrayContaining([
        { name: 'git-creds', items: [{ key: 'user', path: 'git/username' }, { key: 'token', path: 'git/password' }] },
        { name: 'hash', items: [{ key: 'hmac', path: 'hash-key/key' }] },
      ]));
    },
  },
  {
    name: 'an SSH bootstrap repository with a Flux-layout Secret',
    values: { git: { url: 'git@git.example.com:platform/audit.git', ssh: { existingSecret: 'flux-ssh', passphraseKey: 'password' } } },
    check: (objs) => {
      const settings = parse(one(objs, 'ConfigMap', 'kubescribe').data['settings.yaml']) as Loose;
      expect(settings.git.url).toBe('git@git.example.com:platform/audit.git');
      expect(settings.git.ssh).toEqual({ identityFile: '/etc/kubescribe/git-ssh/identity', knownHostsFile: '/etc/kubescribe/git-ssh/known_hosts', passphraseFile: '/etc/kubescribe/git-ssh/passphrase' });
      const secrets = one(objs, 'Deployment').spec.template.spec.volumes.find((v: Loose) => v.projected).projected.sources.filter((s: Loose) => s.secret).map((s: Loose) => s.secret);
      expect(secrets).toContainEqual({ name: 'flux-ssh', items: [{ key: 'identity', path: 'git-ssh/identity' }, { key: 'known_hosts', path: 'git-ssh/known_hosts' }, { key: 'password', path: 'git-ssh/passphrase' }] });
    },
  },
  {
    name: 'three replicas',
    values: { replicaCount: 3, podAntiAffinity: 'hard', webhook: { networkPolicy: { enabled: true, apiserverCIDRs: ['172.16.0.0/28'] } } },
    check: (objs) => {
      const deploy = one(objs, 'Deployment');
      // Only the API server's range and the other replicas reach the webhook port; metrics stay open.
      const np = one(objs, 'NetworkPolicy');
      expect(np.spec.podSelector.matchLabels).toEqual(deploy.spec.selector.matchLabels);
      expect(np.spec.ingress).toEqual([
        { ports: [{ protocol: 'TCP', port: 9443 }], from: [{ ipBlock: { cidr: '172.16.0.0/28' } }, { podSelector: { matchLabels: deploy.spec.selector.matchLabels } }] },
        { ports: [{ protocol: 'TCP', port: 8080 }] },
      ]);
      expect(deploy.spec.replicas).toBe(3);
      expect(deploy.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchLabels).toEqual(deploy.spec.selector.matchLabels);
      const pdb = one(objs, 'PodDisruptionBudget');
      expect(pdb.spec).toEqual({ minAvailable: 1, selector: { matchLabels: deploy.spec.selector.matchLabels } });
    },
  },
  {
    name: 'metrics off, custom resources off',
    values: {
      git: { url: 'https://git.example.org/audit.git' },
      customResources: { enabled: false },
      metrics: { enabled: false, serviceMonitor: { enabled: true }, prometheusRule: { enabled: true } },
    },
    check: (objs) => {
      const role = one(objs, 'ClusterRole');
      expect(JSON.stringify(role.rules)).not.toMatch(/kubescribe\.dev|secrets/);
      expect(objs.filter((o) => o.kind === 'Role').map((o) => o.metadata.name)).toEqual(['kubescribe']); // no Git credentials Role
      for (const k of ['ServiceMonitor', 'PrometheusRule', 'PodDisruptionBudget']) expect(kinds(objs)).not.toContain(k);
      expect(objs.filter((o) => o.kind === 'ConfigMap').map((o) => o.metadata.name)).toEqual(['kubescribe']);
      const svc = one(objs, 'Service', 'kubescribe');
      expect(svc.spec.ports.map((p: Loose) => p.name)).toEqual(['webhook']);
    },
  },
];

describe('Helm chart', () => {
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'kubescribe-chart-'));
    // Our CRDs (the chart's crds/) and those of the Prometheus Operator and cert-manager.
    const applied = await kubectl('admin', ['apply', '-o', 'name', '-f', join(chartDir, 'crds'), '-f', crdDir]);
    await kubectl('admin', ['wait', '--for=condition=Established', '--timeout=60s', ...applied.trim().split('\n')]);
  });

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it.each(variants)('$name: lint, template, checks and kubectl apply --dry-run=server', async (v) => {
    const ns = await freshNamespace('chart');
    await helm(['lint', chartDir, '--strict', '--namespace', ns, '-f', await valuesFile(v.values)]);
    const objs = await render(ns, v.values);
    commonChecks(objs, ns);
    v.check(objs, ns);
    const withCrds = await render(ns, v.values, ['--include-crds']);
    const out = await kubectl('admin', ['apply', '--dry-run=server', '-f', '-'], withCrds.map((o) => JSON.stringify(o)).join('\n'));
    expect(out.trim().split('\n')).toHaveLength(withCrds.length);
    expect(out.trim().split('\n').every((l) => l.endsWith('(server dry run)'))).toBe(true);
  });

  it('rejects values that the schema does not know', async () => {
    await expect(render('x', { git: { urll: 'https://x' } })).rejects.toThrow(/additional properties 'urll' not allowed/);
    await expect(render('x', { webhook: { tls: { mode: 'none' } } })).rejects.toThrow(/\/webhook\/tls\/mode/);
    await expect(render('x', { webhook: { networkPolicy: { enabled: true } } })).rejects.toThrow(/apiserverCIDRs/);
  });

  it('keeps the generated CA, certificate, hash key and peer secret on upgrade (lookup)', async () => {
    const ns = await freshNamespace('chart-up');
    const installed = await render(ns, {}, ['--dry-run=server', '--kubeconfig', stackEnv().kubeconfigs.admin]);
    const secrets = installed.filter((o) => o.kind === 'Secret');
    expect(secrets.map((s) => s.metadata.name).sort()).toEqual(['kubescribe-hash-key', 'kubescribe-peer', 'kubescribe-webhook-tls']);
    await kubectl('admin', ['apply', '-f', '-'], secrets.map((o) => JSON.stringify(o)).join('\n'));
    const upgraded = await render(ns, {}, ['--dry-run=server', '--kubeconfig', stackEnv().kubeconfigs.admin]);
    for (const s of secrets) expect(one(upgraded, 'Secret', s.metadata.name).data).toEqual((s as Loose).data);
    const ca = one(installed, 'Secret', 'kubescribe-webhook-tls').data['ca.crt'];
    expect(one(upgraded, 'ValidatingWebhookConfiguration').webhooks[0].clientConfig.caBundle).toBe(ca);
    // Without lookup (plain helm template) a new CA is made each time: the cluster is what keeps it.
    const fresh = await render(ns, {});
    expect(one(fresh, 'Secret', 'kubescribe-webhook-tls').data['ca.crt']).not.toBe(ca);
  });

  it('ships a dashboard valid for Grafana, whose queries parse and use only exported metrics', async () => {
    const d = JSON.parse(readFileSync(join(chartDir, 'dashboards', 'kubescribe.json'), 'utf8')) as Loose;
    expect(d.uid).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
    expect(typeof d.title).toBe('string');
    expect(d.title.length).toBeGreaterThan(0);
    expect(Number.isInteger(d.schemaVersion) && d.schemaVersion >= 36).toBe(true);
    expect(d.time).toMatchObject({ from: expect.any(String), to: expect.any(String) });
    const variables = new Map<string, Loose>(d.templating.list.map((v: Loose) => [v.name, v]));
    expect(variables.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const panels = d.panels as Loose[];
    expect(panels.length).toBeGreaterThan(0);
    const knownTypes = ['timeseries', 'stat', 'gauge', 'bargauge', 'table', 'heatmap', 'piechart', 'state-timeline', 'text'];
    const ids = new Set<number>();
    const exprs: Array<{ name: string; expr: string }> = [];
    for (const p of panels) {
      const what = `panel ${p.id} ${p.title}`;
      expect(Number.isInteger(p.id) && p.id > 0 && !ids.has(p.id), `${what}: unique id`).toBe(true);
      ids.add(p.id);
      expect(knownTypes, `${what}: type`).toContain(p.type);
      expect(typeof p.title === 'string' && p.title.length > 0, `${what}: title`).toBe(true);
      const g = p.gridPos;
      expect([g.h, g.w, g.x, g.y].every((n) => Number.isInteger(n) && n >= 0) && g.w > 0 && g.h > 0 && g.x + g.w <= 24, `${what}: gridPos ${JSON.stringify(g)}`).toBe(true);
      expect(p.datasource, `${what}: datasource`).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.panels, `${what}: no nested panels`).toBeUndefined();
      expect(Array.isArray(p.targets) && p.targets.length > 0, `${what}: has a query`).toBe(true);
      expect(new Set(p.targets.map((t: Loose) => t.refId)).size, `${what}: unique refIds`).toBe(p.targets.length);
      for (const t of p.targets as Loose[]) {
        expect(typeof t.expr === 'string' && t.expr.trim().length > 0, `${what} ${t.refId}: expr`).toBe(true);
        expect(t.datasource ?? p.datasource).toEqual(p.datasource);
        for (const v of grafanaVariables(t.expr)) expect(variables.has(v), `${what}: variable $${v} is defined`).toBe(true);
        exprs.push({ name: `dashboard:panel_${p.id}:${t.refId}`, expr: grafanaToPromQL(t.expr, { namespace: '.*', pod: '.*', datasource: '' }) });
      }
    }
    // No two panels overlap.
    for (const a of panels) for (const b of panels) {
      if (a === b) continue;
      const [ga, gb] = [a.gridPos, b.gridPos];
      const overlap = ga.x < gb.x + gb.w && gb.x < ga.x + ga.w && ga.y < gb.y + gb.h && gb.y < ga.y + ga.h;
      expect(overlap, `panels ${a.id} and ${b.id} overlap`).toBe(false);
    }
    // What the dashboard must show.
    const all = exprs.map((e) => e.expr).join('\n');
    for (const needed of [/rate\(kubescribe_webhook_requests_total/, /histogram_quantile\(0\.\d+, sum by \(le\) \(rate\(kubescribe_webhook_duration_seconds_bucket/,
      /kubescribe_enrichment_total\{result="hit"/, /kubescribe_queue_depth/, /rate\(kubescribe_commits_total/, /rate\(kubescribe_push_duration_seconds_count/,
      /kubescribe_push_failures_total/, /time\(\) - max.*kubescribe_last_successful_push_timestamp_seconds/, /kubescribe_correlation_store_entries/]) {
      expect(all).toMatch(needed);
    }
    expectExportedMetrics(all);
    // Every query parses: promtool checks them as recording rules.
    const file = join(tmp, 'dashboard-rules.yaml');
    await writeFile(file, stringify({ groups: [{ name: 'dashboard', rules: exprs.map((e) => ({ record: e.name, expr: e.expr })) }] }));
    expect(await checkRules(file)).toMatch(new RegExp(`SUCCESS: ${exprs.length} rules found`));
  });

  it('alerts on what matters, with valid rules that use only exported metrics', async () => {
    const objs = await render('kubescribe', { metrics: { prometheusRule: { enabled: true } } });
    const groups = one(objs, 'PrometheusRule').spec.groups as RuleGroup[];
    const rules = groups.flatMap((g) => g.rules) as Loose[];
    expect(rules.map((r) => r.alert).sort()).toEqual(['KubescribeEnrichmentRatioLow', 'KubescribeLastPushTooOld', 'KubescribePipelineNotSynced', 'KubescribePushesFailing', 'KubescribeQueueGrowing', 'KubescribeWebhookErrors']);
    for (const r of rules) {
      expect(r.labels.severity).toMatch(/^(critical|warning|info)$/);
      expect(r.annotations).toMatchObject({ summary: expect.any(String), description: expect.any(String) });
      expect(r.for).toMatch(/^\d+[smh]$/);
    }
    // The push-failure alert fires within about a minute of Git going down.
    const seconds = (d: string): number => Number(d.slice(0, -1)) * ({ s: 1, m: 60, h: 3600 } as Record<string, number>)[d.slice(-1)]!;
    expect(seconds(rules.find((r) => r.alert === 'KubescribePushesFailing')!.for)).toBeLessThanOrEqual(45);
    expectExportedMetrics(rules.map((r) => r.expr).join('\n'));
    const file = join(tmp, 'alerts.yaml');
    await writeFile(file, stringify({ groups }));
    expect(await checkRules(file)).toMatch(/SUCCESS: 6 rules found/);
    // The window and `for` are values.
    const tuned = await render('kubescribe', { metrics: { prometheusRule: { enabled: true, alerts: { pushesFailing: { for: '10s', window: '1m' } } } } });
    const tunedRule = (one(tuned, 'PrometheusRule').spec.groups[0].rules as Loose[]).find((r) => r.alert === 'KubescribePushesFailing')!;
    expect(tunedRule.for).toBe('10s');
    expect(tunedRule.expr).toContain('[1m]');
  });
});

/** Every kubescribe_* series named in `exprs` is one that createMetrics() registers. */
function expectExportedMetrics(exprs: string): void {
  const registry = new Registry();
  createMetrics(registry);
  const exported = new Set<string>();
  for (const m of registry.getMetricsAsArray()) {
    const { name, type } = m as unknown as { name: string; type: string };
    exported.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_count', '_sum']) exported.add(name + s);
  }
  const used = new Set(exprs.match(/\bkubescribe_[a-z0-9_]+\b/g) ?? []);
  expect(used.size).toBeGreaterThan(0);
  for (const name of used) expect(exported, `metric ${name} is exported`).toContain(name);
}
