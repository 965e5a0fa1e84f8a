// Least privilege (issue 17 part 3): the chart's RBAC (helm template → kubectl apply) installed on
// the real apiserver, and kubescribe run AS the chart's service account (a token for it, nothing
// else) through the pipeline story: leader election on the chart's Lease, peer discovery, its own
// webhook configuration kept in sync, create/patch/delete by three users, kubectl scale, a Secret
// (redacted, annotations included). Everything works, with exactly the permissions the chart grants.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { repoRoot } from './stack/stack.ts';
import { startInstance, type Instance } from './stack/instance.ts';
import { eventually, freshNamespace, git, kubectl, stackEnv } from './support.ts';

const exec = promisify(execFile);

interface Rendered { kind: string; metadata: { name: string; namespace?: string }; rules?: Array<{ resources: string[]; resourceNames?: string[] }> }

describe('kubescribe as the chart\'s service account, with the chart\'s RBAC only', () => {
  let inst: Instance;
  let own: string;
  let ns: string;
  let vwcName = '';
  let names: { sa: string; vwc: string; lease: string; fullname: string };
  let installed: Rendered[];

  async function commits(path: string): Promise<Array<{ author: string; subject: string }>> {
    try {
      const out = await git(inst.git.repo, ['log', '--reverse', '--format=%an%x00%s', 'main', '--', path]);
      return out.split('\n').filter(Boolean).map((l) => { const [author = '', subject = ''] = l.split('\0'); return { author, subject }; });
    } catch { return []; }
  }
  const commitsFor = (path: string, n: number) => eventually(`${n} commits for ${path}`, async () => { const l = await commits(path); return l.length >= n ? l : undefined; }, 60_000);

  beforeAll(async () => {
    const env = stackEnv();
    own = await freshNamespace('ks-own');
    ns = await freshNamespace('ks-sa');
    const release = `lp${process.pid}`;
    const values = {
      git: { url: 'https://git.example.invalid/audit.git' },
      customResources: { enabled: false },
      watch: { resources: [
        { group: '', version: 'v1', resource: 'configmaps' }, { group: '', version: 'v1', resource: 'secrets' },
        { group: '', version: 'v1', resource: 'services' }, { group: 'apps', version: 'v1', resource: 'deployments', subresources: ['scale'] },
      ] },
    };
    const p = exec(env.bin.helm, ['template', release, join(repoRoot, 'charts', 'kubescribe'), '-n', own, '--show-only', 'templates/rbac.yaml', '--show-only', 'templates/serviceaccount.yaml', '-f', '-']);
    p.child.stdin?.end(JSON.stringify(values));
    const rendered = (await p).stdout;
    installed = parseAllDocuments(rendered).map((d) => d.toJS() as Rendered).filter(Boolean);
    await kubectl('admin', ['apply', '-f', '-'], rendered);
    const role = installed.find((o) => o.kind === 'ClusterRole')!;
    const leaseRole = installed.find((o) => o.kind === 'Role' && o.rules?.some((r) => r.resources.includes('leases') && r.resourceNames))!;
    names = {
      sa: installed.find((o) => o.kind === 'ServiceAccount')!.metadata.name,
      vwc: role.rules!.find((r) => r.resources.includes('validatingwebhookconfigurations'))!.resourceNames![0]!,
      lease: leaseRole.rules!.find((r) => r.resourceNames)!.resourceNames![0]!,
      fullname: leaseRole.metadata.name,
    };
    const token = (await kubectl('admin', ['create', 'token', names.sa, '-n', own, '--duration=2h'])).trim();
    const kubeconfig = join(env.stackDir, `kubeconfig-${release}.yaml`);
    await writeFile(kubeconfig, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'sa',
      clusters: [{ name: 'stack', cluster: { server: env.apiserver.server, 'certificate-authority': env.apiserver.caFile } }],
      users: [{ name: 'sa', user: { token } }],
      contexts: [{ name: 'sa', context: { cluster: 'stack', user: 'sa' } }],
    }), { mode: 0o600 });

    inst = await startInstance(env, {
      name: 'least-privilege', namespaces: [ns],
      settings: (s) => {
        const webhook = s.webhook as Record<string, unknown>;
        vwcName = String(webhook.configurationName);
        webhook.configurationName = names.vwc; // the one the chart's ClusterRole names
        s.kubernetes = { kubeconfig };
        s.ownNamespace = own;
        s.leaderElection = { enabled: true, leaseName: names.lease, leaseDurationMs: 4000, renewIntervalMs: 1000 };
        s.peers = { service: `${names.fullname}-peers` }; // peer discovery through EndpointSlices (no peer secret)
      },
    });
    // The instance registered its webhook under its own name: move it to the chart's name.
    const vwc = JSON.parse(await kubectl('admin', ['get', 'validatingwebhookconfiguration', vwcName, '-o', 'json'])) as { metadata: Record<string, unknown> };
    vwc.metadata = { name: names.vwc };
    await kubectl('admin', ['apply', '-f', '-'], JSON.stringify(vwc));
    await kubectl('admin', ['delete', 'validatingwebhookconfiguration', vwcName]);
    await inst.startKubescribe();
    const readyz = inst.metricsUrl.replace(/\/metrics$/, '/readyz');
    await eventually('the leader\'s pipeline ready', async () => {
      const res = await fetch(readyz);
      const body = (await res.json()) as { leader?: boolean };
      return res.status === 200 && body.leader === true;
    }, 60_000);
  });
  afterAll(async () => {
    await inst?.close();
    if (names) await kubectl('admin', ['delete', 'validatingwebhookconfiguration', names.vwc, '--ignore-not-found']).catch(() => undefined);
    if (installed) await kubectl('admin', ['delete', '--ignore-not-found', '-f', '-'], installed.map((o) => JSON.stringify(o)).join('\n')).catch(() => undefined);
  });

  it('runs the pipeline story with only the chart\'s permissions', async () => {
    // The service account may do what the chart grants, and no more.
    const can = async (verb: string, what: string, extra: string[] = []): Promise<boolean> => (await kubectl('admin', ['auth', 'can-i', verb, what, `--as=system:serviceaccount:${own}:${names.sa}`, ...extra]).catch((e: { stdout?: string }) => e.stdout ?? '')).trim() === 'yes';
    expect(await can('list', 'secrets', ['-A'])).toBe(true); // it records Secrets here
    expect(await can('get', 'secrets', ['-n', ns])).toBe(false);
    expect(await can('create', 'events', ['-n', ns])).toBe(false);
    expect(await can('patch', 'configmaps', ['-n', ns])).toBe(false);
    expect(await can('update', `leases/${names.lease}`, ['-n', own])).toBe(true);
    expect(await can('update', 'leases/other', ['-n', own])).toBe(false);

    // Its Lease is held under the chart's name.
    expect(JSON.parse(await kubectl('admin', ['get', 'lease', names.lease, '-n', own, '-o', 'json'])).spec.holderIdentity).toBeTruthy();
    // It keeps the rules of its own webhook configuration (get + update by name).
    await eventually('webhook rules synced', async () => {
      const vwc = JSON.parse(await kubectl('admin', ['get', 'validatingwebhookconfiguration', names.vwc, '-o', 'json'])) as { webhooks: Array<{ rules: Array<{ resources: string[] }> }> };
      return vwc.webhooks[0]!.rules.some((r) => r.resources.includes('deployments/scale')) && vwc.webhooks[0]!.rules.some((r) => r.resources.includes('secrets'));
    });

    const cm = `${ns}/core/configmaps/settings.yaml`;
    await kubectl('alice', ['create', 'configmap', 'settings', '-n', ns, '--from-literal=color=blue']);
    await commitsFor(cm, 1);
    await kubectl('bob', ['patch', 'configmap', 'settings', '-n', ns, '--type=merge', '-p', '{"data":{"color":"green"}}']);
    await commitsFor(cm, 2);
    await kubectl('carol', ['delete', 'configmap', 'settings', '-n', ns]);
    expect((await commitsFor(cm, 3)).map((c) => c.author)).toEqual(['alice', 'bob', 'carol']);

    const deploy = `${ns}/apps/deployments/api.yaml`;
    await kubectl('alice', ['create', 'deployment', 'api', '-n', ns, '--image=nginx:1.27', '--replicas=1']);
    await commitsFor(deploy, 1);
    await kubectl('bob', ['scale', 'deployment', 'api', '-n', ns, '--replicas=3']);
    expect((await commitsFor(deploy, 2)).map((c) => c.author)).toEqual(['alice', 'bob']);

    const value = `hunter2-${Date.now()}`;
    await kubectl('carol', ['create', 'secret', 'generic', 'db', '-n', ns, `--from-literal=password=${value}`]);
    await kubectl('carol', ['annotate', 'secret', 'db', '-n', ns, `copy=${value}`]);
    const secret = `${ns}/core/secrets/db.yaml`;
    expect((await commitsFor(secret, 2)).map((c) => c.author)).toEqual(['carol', 'carol']);
    const history = await git(inst.git.repo, ['log', '-p', '--all']);
    expect(history).not.toContain(value);
    expect(history).not.toContain(Buffer.from(value).toString('base64'));
    expect(await git(inst.git.repo, ['show', `main:${secret}`])).toMatch(/^ {4}copy: redacted:hmac-sha256:[0-9a-f]{32}$/m);
  });
});
