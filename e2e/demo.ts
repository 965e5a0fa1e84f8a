// `make demo`: starts the local stack with kubescribe (or reuses it), plays a short story as alice,
// bob and carol, then prints the Git log with authors and the final file tree, and tells where to
// browse the repository.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { up, repoRoot } from './stack/stack.ts';
import { waitFor } from './stack/processes.ts';

const exec = promisify(execFile);
const dir = process.env.KUBESCRIBE_STACK_DIR ?? join(repoRoot, '.dev');
const env = await up({ dir });
const repo = join(env.git.root, 'audit.git');

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

process.stdout.write(`\nGit log of the audit repo (newest first):\n`);
process.stdout.write((await git('log', `-${expected - before}`, '--format=  %h  %<(6)%an  %s')).trimEnd() + '\n');
process.stdout.write(`\nWho scaled web? (git log -p on its file, trailers included)\n`);
process.stdout.write((await git('log', '-1', '--format=%an %ad%n%(trailers:only)', '--date=iso', '--', `${ns}/apps/deployments/web.yaml`)).replace(/^/gm, '  ').trimEnd() + '\n');
process.stdout.write(`\nFiles on main under ${ns}/:\n`);
process.stdout.write((await git('ls-tree', '-r', '--name-only', 'main', `${ns}/`)).replace(/^/gm, '  ').trimEnd() + '\n');
const cloneUrl = env.git.url.replace('http://', `http://${env.git.username}:${env.git.password}@`);
process.stdout.write(`
Browse it yourself:
  git clone ${cloneUrl} audit && cd audit
  git log --format='%h %an %s' -- ${ns}/apps/deployments/web.yaml
  git blame ${ns}/apps/deployments/web.yaml
  npx kubescribe history deployments ${ns}/web --repo ${cloneUrl}
The stack keeps running (kubeconfigs in ${join(dir, 'env.json')}); stop it with: npm run dev:down
`);
