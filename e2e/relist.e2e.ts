// Changes found by a relist keep their authors and their order (issue 12, item 3). A control plane
// of its own without a watch cache and with etcd compacted every second, reached by kubescribe
// through a TCP proxy that the spec cuts: while the watch is down bob, carol and alice update,
// delete and re-create objects; when the proxy is back the watch resumes from a compacted version,
// the apiserver answers 410 Gone, kubescribe relists — and every change must be in Git once, with
// its author, in the order the cluster made them, nothing left to a RECONCILE.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './stack/processes.ts';
import { startPrivateCluster, type PrivateCluster } from './stack/private-cluster.ts';
import { eventually, git, stackEnv } from './support.ts';

/** A TCP proxy whose connections can all be cut at once, and which can be started again on its port. */
function cuttableProxy(port: number, target: number): { start: () => Promise<void>; cut: () => Promise<void> } {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  return {
    start: () => new Promise((resolve) => {
      server = createServer((client) => {
        const upstream = connect(target, '127.0.0.1');
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const end = (): void => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
        client.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
      });
      server.listen(port, '127.0.0.1', () => resolve());
    }),
    cut: async () => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
  };
}

describe('relist after 410 Gone', () => {
  let cluster: PrivateCluster | undefined;
  afterAll(async () => { await cluster?.close(); });

  it('commits every change the relist finds once, in order, with its author; delete + re-create gives both', async () => {
    cluster = await startPrivateCluster(stackEnv(), 'relist', { apiserverArgs: ['--watch-cache=false', '--etcd-compaction-interval=1s'] });
    const c = cluster;
    const ns = 'relist';
    await c.kubectl('admin', ['create', 'namespace', ns]);
    // kubescribe reaches the apiserver through the proxy; users and the webhook calls do not.
    const apiPort = Number(new URL(c.info.server).port);
    const proxyPort = await freePort();
    const proxy = cuttableProxy(proxyPort, apiPort);
    await proxy.start();
    const kubeconfig = join(c.dir, 'kubescribe-via-proxy.yaml');
    await writeFile(kubeconfig, readFileSync(c.info.kubeconfigs.kubescribe!, 'utf8').replace(`:${apiPort}`, `:${proxyPort}`));
    const inst = await c.startInstance({ name: 'relist', namespaces: [ns], resources: ['configmaps'], settings: (s) => { (s.kubernetes as Record<string, unknown>).kubeconfig = kubeconfig; } });
    await inst.startKubescribe();
    const log = async (): Promise<Array<{ author: string; subject: string }>> => (await git(inst.git.repo, ['log', '--reverse', '--format=%an%x00%s', 'main']).catch(() => ''))
      .split('\n').filter(Boolean).map((l) => { const [author = '', subject = ''] = l.split('\0'); return { author, subject }; });
    for (const name of ['a', 'b', 'c', 'd']) await c.kubectl('alice', ['create', 'configmap', name, '-n', ns, '--from-literal=v=1']);
    await eventually('the four CREATEs', async () => (await log()).filter((e) => e.subject.startsWith('CREATE')).length === 4, 60_000);
    const before = (await log()).length;

    await proxy.cut();
    await c.kubectl('bob', ['patch', 'configmap', 'a', '-n', ns, '--type=merge', '-p', '{"data":{"v":"2"}}']);
    await c.kubectl('carol', ['patch', 'configmap', 'b', '-n', ns, '--type=merge', '-p', '{"data":{"v":"2"}}']);
    await c.kubectl('alice', ['delete', 'configmap', 'c', '-n', ns]);
    await c.kubectl('alice', ['create', 'configmap', 'c', '-n', ns, '--from-literal=v=again']);
    await c.kubectl('bob', ['delete', 'configmap', 'd', '-n', ns]);
    await c.kubectl('carol', ['create', 'configmap', 'e', '-n', ns, '--from-literal=v=1']);
    // Let etcd compact past the version the watch will ask for.
    await new Promise((r) => setTimeout(r, 3000));
    await proxy.start();

    const found = await eventually('the six changes made while the watch was down', async () => {
      const l = (await log()).slice(before);
      return l.length >= 6 && l;
    }, 60_000);
    await new Promise((r) => setTimeout(r, 2000)); // nothing more comes (no RECONCILE, no duplicate)
    const after = (await log()).slice(before);
    expect(after).toEqual(found);
    expect(after.map((e) => `${e.author} ${e.subject.replace(` ${ns}/`, ' ')}`)).toEqual([
      'bob UPDATE v1 configmaps a',
      'carol UPDATE v1 configmaps b',
      'alice DELETE v1 configmaps c',
      'alice CREATE v1 configmaps c',
      'carol CREATE v1 configmaps e',
      'bob DELETE v1 configmaps d',
    ]);
    const expired = (await (await fetch(inst.metricsUrl)).text()).match(/^kubescribe_watch_errors_total\{[^}]*\} (\d+)/m);
    process.stdout.write(`[relist] watch errors while cut: ${expired?.[1] ?? 0}\n`);
  });
});
