// Test helper process: opens a GitWriter, commits the given changes (never pushing), prints the
// commit shas as one JSON line and kills itself with SIGKILL, as a crashed operator would die.
import { pino } from 'pino';
import { GitWriter } from '../writer.ts';

interface Args { dir: string; url: string; username: string; password: string; commits: { path: string; content: string | null; author: string }[] }

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as Args;
  const w = await GitWriter.open({
    dir: args.dir,
    url: args.url,
    branch: 'main',
    credentials: () => ({ username: args.username, password: args.password }),
    committer: { name: 'kubescribe', email: 'kubescribe@example.com' },
    pushIntervalMs: 3_600_000,
    pushMaxCommits: 1_000_000,
    logger: pino({ level: 'silent' }),
  });
  const shas: string[] = [];
  for (const c of args.commits) {
    shas.push(await w.commit({ changes: [{ path: c.path, content: c.content }], author: { name: c.author, email: `${c.author}@example.com` }, message: `change by ${c.author}` }));
  }
  process.stdout.write(`${JSON.stringify({ shas })}\n`, () => process.kill(process.pid, 'SIGKILL'));
}

void main();
