// The Helm chart installed for real on the local node (e2e/stack/node.ts), with the image made
// from the Dockerfile's layout (e2e/node/kubescribe-image.ts): `helm install` with self-signed TLS
// → pods Ready (the kubelet enforcing runAsNonRoot and the read-only root) → the apiserver calls
// the webhook through the Service → alice, bob and carol committed with their names; then
// `helm uninstall` removes the webhook configuration and leaves the repository intact. The
// release records one namespace of its own into a repository of its own on the stack's Git server.
// Needs the node (CI=true as root requires it; elsewhere skipped when the stack has none).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createBareRepo } from './stack/git-server.ts';
import { repoRoot } from './stack/stack.ts';
import { eventually, freshNamespace, git, kubectl, stackEnv } from './support.ts';

const exec = promisify(execFile);
const env = stackEnv();
const chartDir = join(repoRoot, 'charts', 'kubescribe');

async function helm(args: string[]): Promise<string> {
  try {
    return (await exec(env.bin.helm, ['--kubeconfig', env.kubeconfigs.admin, ...args], { maxBuffer: 64 << 20 })).stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`helm ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

interface Pod { metadata: { name: string }; status: { podIP?: string; conditions?: Array<{ type: string; status: string }>; containerStatuses?: Array<{ ready: boolean; restartCount: number }> } }

describe.skipIf(!env.node.ready)('the Helm chart on the node', () => {
  let tmp: string;
  let releaseNs: string;
  let shop: string;
  let repoName: string;
  const release = 'scribe';

  const log = async (): Promise<Array<{ author: string; subject: string }>> => {
    const out = await git(join(env.git.root, `${repoName}.git`), ['log', '--reverse', '--format=%an%x00%s', 'main']).catch(() => '');
    return out.split('\n').filter(Boolean).map((l) => { const [author = '', subject = ''] = l.split('\0'); return { author, subject }; });
  };
  const pods = async (): Promise<Pod[]> => (JSON.parse(await kubectl('admin', ['get', 'pods', '-n', releaseNs, '-l', 'app.kubernetes.io/name=kubescribe', '-o', 'json'])) as { items: Pod[] }).items;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'kubescribe-chart-node-'));
    releaseNs = await freshNamespace('ks-release');
    shop = await freshNamespace('ks-shop');
    repoName = `chart-${randomBytes(4).toString('hex')}`;
    await createBareRepo(env.git.root, repoName, { defaultBranch: 'main' });
  });

  afterAll(async () => {
    await helm(['uninstall', release, '-n', releaseNs, '--wait']).catch(() => undefined);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('installs with helm, serves the webhook through the Service and commits alice, bob and carol', async () => {
    expect(env.node.image).toBe('kubescribe:local');
    const [repository, tag] = (env.node.image ?? '').split(':');
    const values = {
      image: { repository, tag, pullPolicy: 'Never' },
      git: { url: (env.git.clusterUrl ?? '').replace(/audit\.git$/, `${repoName}.git`), pushIntervalMs: 300, credentials: { username: env.git.username, password: env.git.password } },
      watch: { namespaces: { include: [shop] } },
      customResources: { enabled: false },
    };
    const file = join(tmp, 'values.yaml');
    await writeFile(file, stringify(values));
    const t0 = Date.now();
    await helm(['install', release, chartDir, '-n', releaseNs, '-f', file, '--wait', '--timeout', '3m']);
    const readyMs = Date.now() - t0;
    const [pod] = await pods();
    expect(pod?.status.containerStatuses?.[0]).toMatchObject({ ready: true, restartCount: 0 });

    // The webhook is registered by Service, and that Service's endpoints are the ready pod.
    const vwcs = JSON.parse(await kubectl('admin', ['get', 'validatingwebhookconfigurations', '-l', `app.kubernetes.io/instance=${release}`, '-o', 'json'])) as { items: Array<{ metadata: { name: string }; webhooks: Array<{ clientConfig: { service?: { name: string; namespace: string }; url?: string } }> }> };
    expect(vwcs.items).toHaveLength(1);
    const svc = vwcs.items[0]!.webhooks[0]!.clientConfig.service!;
    expect(svc.namespace).toBe(releaseNs);
    const slices = JSON.parse(await kubectl('admin', ['get', 'endpointslices', '-n', releaseNs, '-l', `kubernetes.io/service-name=${svc.name}`, '-o', 'json'])) as { items: Array<{ endpoints?: Array<{ addresses: string[]; conditions: { ready?: boolean } }> }> };
    expect(slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions.ready).flatMap((e) => e.addresses)).toEqual([pod?.status.podIP]);

    const t1 = Date.now();
    await kubectl('alice', ['create', 'configmap', 'settings', '-n', shop, '--from-literal=color=blue']);
    await eventually("alice's commit", async () => (await log()).some((c) => c.author === 'alice'), 60_000, 250);
    const aliceMs = Date.now() - t1;
    await kubectl('bob', ['patch', 'configmap', 'settings', '-n', shop, '--type=merge', '-p', '{"data":{"color":"green"}}']);
    await kubectl('carol', ['delete', 'configmap', 'settings', '-n', shop]);
    const story = await eventually('the story committed', async () => {
      const l = (await log()).filter((c) => c.subject.endsWith(`configmaps ${shop}/settings`));
      return l.length >= 3 ? l : undefined;
    }, 60_000, 250);
    expect(story.map((c) => [c.author, c.subject.split(' ')[0]])).toEqual([['alice', 'CREATE'], ['bob', 'UPDATE'], ['carol', 'DELETE']]);
    process.stderr.write(`[chart-node.e2e] helm install → Ready ${readyMs} ms; alice's change → her commit ${aliceMs} ms\n`);
  });

  it('helm uninstall removes the webhook configuration and leaves the repository intact', async () => {
    const before = await log();
    expect(before.length).toBeGreaterThan(0);
    await helm(['uninstall', release, '-n', releaseNs, '--wait']);
    const left = await kubectl('admin', ['get', 'validatingwebhookconfigurations', '-l', `app.kubernetes.io/instance=${release}`, '-o', 'name']);
    expect(left.trim()).toBe('');
    await eventually('the pods to be gone', async () => (await pods()).length === 0, 60_000, 500);
    // A change now reaches no dead webhook (it would time out or fail) and is recorded by no one.
    const t0 = Date.now();
    await kubectl('alice', ['create', 'configmap', 'after', '-n', shop]);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(await log()).toEqual(before);
  });
});
