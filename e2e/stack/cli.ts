// `npm run dev:up` / `npm run dev:down`: the local stack in .dev/ (see README "The local stack").
import { join } from 'node:path';
import { down, repoRoot, up } from './stack.ts';

const dir = process.env.KUBESCRIBE_STACK_DIR ?? join(repoRoot, '.dev');
const cmd = process.argv[2];
try {
  if (cmd === 'up') {
    const env = await up({ dir, kubescribe: process.env.KUBESCRIBE_NO_OPERATOR !== '1' });
    process.stdout.write(`stack is up; environment in ${join(dir, 'env.json')}\n`);
    process.stdout.write(`  kubectl --kubeconfig ${env.kubeconfigs.alice} auth whoami\n`);
    process.stdout.write(`  git clone http://${env.git.username}:${env.git.password}@${env.git.url.replace(/^http:\/\//, '')}\n`);
  } else if (cmd === 'down') {
    await down({ dir, purge: process.argv.includes('--purge') });
    process.stdout.write('stack is down\n');
  } else {
    process.stderr.write('usage: cli.ts up|down [--purge]\n');
    process.exitCode = 2;
  }
} catch (err) {
  process.stderr.write(`dev:${cmd} failed: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
