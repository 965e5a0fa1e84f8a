// `make demo`: starts the local stack with kubescribe (or reuses it), plays a short story as alice,
// bob and carol, then prints the Git log with authors and the final file tree, and tells where to
// browse the repository. `KUBESCRIBE_NODE=1 make demo` (root): the stack gets its node, and
// kubescribe is installed into the cluster with Helm (its image loaded into the node), recording
// into a repository of its own on the stack's Git server; the same story is then played.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { createBareRepo } from './stack/git-server.ts';
import { up, repoRoot } from './stack/stack.ts';
import type { StackEnv } from './stack/env.ts';
import { waitFor } from './stack/processes.ts';

const exec = promisify(execFile);
const dir = process.env.KUBESCRIBE_STACK_DIR ?? join(repoRoot, '.dev');
const inCluster = process.env.KUBESCRIBE_NODE === '1';
const env = await up({ dir, ...(inCluster ? { kubescribe: false } : {}) });
const repo = inCluster ? await installInCluster(env) : join(env.git.root, 'audit.git');

/** helm upgrade --install of the chart into the local cluster; the bare repository it records into. */
async function installInCluster(e: StackEnv): Promise<string> {
  if (!e.node.ready || !e.node.image || !e.git.clusterUrl) throw new Error(`KUBESCRIBE_NODE=1 needs the node: ${e.node.reason ?? 'not ready'}`);
  const name = 'helm-demo';
  if (!existsSync(join(e.git.root, `${name}.git`))) await createBareRepo(e.git.root, name, { defaultBranch: 'main' });
  const [repository, tag] = e.node.image.split(':');
  const values = join(dir, 'helm-demo-values.yaml');
  await writeFile(values, stringify({
    image: { repository, tag, pullPolicy: 'Never' },
    git: { url: e.git.clusterUrl.replace(/audit\.git$/, `${name}.git`), pushIntervalMs: 300, credentials: { username: e.git.username, password: e.git.password } },
    watch: { namespaces: { include: ['shop*'] } },
    customResources: { enabled: false },
  }), { mode: 0o600 });
  process.stdout.write(`Installing kubescribe into the cluster: helm upgrade --install kubescribe charts/kubescribe -n kubescribe-demo -f ${values}\n`);
  await exec(e.bin.helm, ['--kubeconfig', e.kubeconfigs.admin, 'upgrade', '--install', 'kubescribe', join(repoRoot, 'charts', 'kubescribe'), '-n', 'kubescribe-demo', '--create-namespace', '-f', values, '--wait', '--timeout', '3m']);
  const pods = (await exec(e.bin.kubectl, ['--kubeconfig', e.kubeconfigs.admin, 'get', 'pods', '-n', 'kubescribe-demo', '-o', 'wide'])).stdout;
  process.stdout.write(pods.replace(/^/gm, '  '));
  return join(e.git.root, `${name}.git`);
}

async function kubectl(user: 'admin' | 'alice' | 'bob' | 'carol', ...args: string[]): Promise<void> {
  const { stdout } = await exec(env.bin.kubectl, ['--kubeconfig', env.kubeconfigs[user], ...args]);
  process.stdout.write(`  ${user.padEnd(5)} $ kubectl ${args.join(' ')}\n${stdout.replace(/^/gm, '          ').trimEnd()}\n`);
}
async function git(...args: string[]): Promise<string> {
  try { return (await exec('git', ['-C', repo, ...args])).stdout; } catch { return ''; }
}
const commitCount = async (): Promise<number> => Number((await git('rev-list', '--count', 'main')).trim() || '0');

// A fresh namespace per run, so the story can be played again on the same stack.
const existing = (await exec(env.bin.kubectl, ['--kubeconfig', env.kubeconfigs.admin, 'get', 'ns', '-o', 'name'])).stdout;
let ns = 'shop';
for (let i = 2; existing.includes(`namespace/${ns}\n`); i++) ns = `shop-${i}`;
const before = await commitCount();

process.stdout.write(`\nThe story, in namespace ${ns}:\n`);
await kubectl('admin', 'create', 'namespace', ns);
await kubectl('alice', 'create', 'deployment', 'web', '-n', ns, '--image=nginx:1.27', '--replicas=1');
await kubectl('alice', 'create', 'configmap', 'settings', '-n', ns, '--from-literal=color=blue', '--from-literal=greeting=hello');
await kubectl('bob', 'scale', 'deployment', 'web', '-n', ns, '--replicas=3');
await kubectl('carol', 'patch', 'configmap', 'settings', '-n', ns, '--type=merge', '-p', '{"data":{"color":"green"}}');
await kubectl('bob', 'set', 'image', 'deployment/web', '-n', ns, 'nginx=nginx:1.28');
await kubectl('carol', 'delete', 'configmap', 'settings', '-n', ns);

const expected = before + 6;
await waitFor('the story to reach Git', async () => (await commitCount()) >= expected, 30_000, 200);

process.stdout.write(`\nGit log of ${repo.split('/').pop()?.replace(/\.git$/, '')} (newest first):\n`);
process.stdout.write((await git('log', `-${expected - before}`, '--format=  %h  %<(6)%an  %s')).trimEnd() + '\n');
process.stdout.write(`\nWho scaled web? (git log -p on its file, trailers included)\n`);
process.stdout.write((await git('log', '-1', '--format=%an %ad%n%(trailers:only)', '--date=iso', '--', `${ns}/apps/deployments/web.yaml`)).replace(/^/gm, '  ').trimEnd() + '\n');
process.stdout.write(`\nFiles on main under ${ns}/:\n`);
process.stdout.write((await git('ls-tree', '-r', '--name-only', 'main', `${ns}/`)).replace(/^/gm, '  ').trimEnd() + '\n');
const cloneUrl = env.git.url.replace('http://', `http://${env.git.username}:${env.git.password}@`).replace(/audit\.git$/, repo.split('/').pop() ?? 'audit.git');
process.stdout.write(`
Browse it yourself:
  git clone ${cloneUrl} audit && cd audit
  git log --format='%h %an %s' -- ${ns}/apps/deployments/web.yaml
  git blame ${ns}/apps/deployments/web.yaml
  npx kubescribe history deployments ${ns}/web --repo ${cloneUrl}
The stack keeps running (kubeconfigs in ${join(dir, 'env.json')}); stop it with: npm run dev:down${inCluster ? '\n(the release stays installed: helm uninstall kubescribe -n kubescribe-demo removes it)' : ''}
`);
