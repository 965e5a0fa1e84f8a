// The local node (e2e/stack/node.ts): Ready, runs pods from images loaded without a registry,
// pods reach the apiserver through the `kubernetes` Service and the Git server at git.clusterUrl,
// and nothing beyond this machine. Needs root (CI=true as root requires the node; elsewhere the
// stack says node.ready: false and these tests are skipped).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { KUBECTL_IMAGE } from './node/images.ts';
import { NODE } from './stack/node-network.ts';
import { eventually, freshNamespace, kubectl, stackEnv } from './support.ts';

const exec = promisify(execFile);
const nodeReady = stackEnv().node.ready;

/** Runs kubectl (the kubectl image) in a pod to completion; returns its phase and its log. */
async function runPod(ns: string, name: string, args: string[]): Promise<{ phase: string; log: string; ms: number }> {
  const started = Date.now();
  await kubectl('admin', ['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns },
    spec: { restartPolicy: 'Never', containers: [{ name: 'k', image: KUBECTL_IMAGE, imagePullPolicy: 'Never', args }] },
  }));
  const phase = await eventually(`pod ${ns}/${name} to finish`, async () => {
    const p = (await kubectl('admin', ['get', 'pod', name, '-n', ns, '-o', 'jsonpath={.status.phase}'])).trim();
    return p === 'Succeeded' || p === 'Failed' ? p : undefined;
  }, 90_000, 250);
  const ms = Date.now() - started;
  return { phase, log: await kubectl('admin', ['logs', name, '-n', ns]), ms };
}

async function dropped(): Promise<number> {
  const out = (await exec('iptables', ['-w', '-L', 'KUBESCRIBE-NODE', '-v', '-x', '-n'])).stdout;
  return out.split('\n').filter((l) => /\bDROP\b/.test(l)).reduce((n, l) => n + Number(l.trim().split(/\s+/)[0]), 0);
}

describe.skipIf(!nodeReady)('the local node', () => {
  it('is Ready and runs a pod that reaches the apiserver through the kubernetes Service', async () => {
    const node = JSON.parse(await kubectl('admin', ['get', 'node', NODE.name, '-o', 'json'])) as { status: { conditions: Array<{ type: string; status: string }>; addresses: Array<{ type: string; address: string }> } };
    expect(node.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(node.status.addresses).toContainEqual({ type: 'InternalIP', address: NODE.gateway });
    const ns = await freshNamespace('node');
    const { phase, log, ms } = await runPod(ns, 'version', ['get', '--raw', '/version']);
    expect(phase, log).toBe('Succeeded');
    expect(JSON.parse(log)).toMatchObject({ gitVersion: 'v1.34.4' });
    const ip = (await kubectl('admin', ['get', 'pod', 'version', '-n', ns, '-o', 'jsonpath={.status.podIP}'])).trim();
    expect(ip).toMatch(/^10\.244\.77\.\d+$/);
    process.stderr.write(`[node.e2e] pod created → Succeeded in ${ms} ms\n`);
  });

  it('lets pods reach the Git server at git.clusterUrl, and nothing outside this machine', async () => {
    const env = stackEnv();
    expect(env.git.clusterUrl).toMatch(new RegExp(`^http://${NODE.gateway.replace(/\./g, '\\.')}:\\d+/audit\\.git$`));
    const ns = await freshNamespace('node-net');
    // The Git server answers 401 without credentials: reached.
    const git = await runPod(ns, 'git', ['--server', (env.git.clusterUrl ?? '').replace(/\/audit\.git$/, ''), 'get', '--raw', '/audit.git/info/refs?service=git-upload-pack']);
    expect(git.phase).toBe('Failed');
    expect(git.log).toMatch(/asked for the client to provide credentials/); // 401
    // An address beyond this machine (TEST-NET-3): the bridge's FORWARD rule drops it.
    const before = await dropped();
    const out = await runPod(ns, 'outside', ['--server', 'https://203.0.113.1:443', '--token=none', '--insecure-skip-tls-verify', '--request-timeout=3s', 'get', '--raw', '/']);
    expect(out.phase).toBe('Failed');
    expect(out.log).toMatch(/Unable to connect|timeout|Timeout/);
    expect(await dropped()).toBeGreaterThan(before);
  });
});
