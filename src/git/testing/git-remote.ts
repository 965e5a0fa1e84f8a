// Test fixture: a real Git server (e2e/stack/git-server.ts) on a random port in a temp folder,
// with one bare repository, and the git CLI pointed at it.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { createBareRepo, startGitServer, type GitServer } from '../../../e2e/stack/git-server.ts';

const exec = promisify(execFile);

export const USER = 'kubescribe';
export const PASSWORD = 's3cret-pa55';

export interface GitRemote {
  tmp: string;
  server: GitServer;
  /** Repository URL without credentials. */
  url: string;
  /** Repository URL with credentials, for the git CLI. */
  cliUrl: string;
  /** Runs git with the given arguments (cwd = tmp) and returns stdout. */
  git(args: string[], cwd?: string): Promise<string>;
  /** Restarts the server on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export const silentLogger = pino({ level: process.env.KUBESCRIBE_TEST_LOG ?? 'silent' });

export async function startGitRemote(name = 'audit'): Promise<GitRemote> {
  const tmp = await mkdtemp(join(tmpdir(), 'kubescribe-git-'));
  const root = join(tmp, 'srv');
  await createBareRepo(root, name, { defaultBranch: 'main' });
  let server = await startGitServer({ root, username: USER, password: PASSWORD, port: 0 });
  const port = server.port;
  const url = `${server.url}/${name}.git`;
  const remote: GitRemote = {
    tmp,
    get server() { return server; },
    url,
    cliUrl: url.replace('http://', `http://${USER}:${PASSWORD}@`),
    async git(args, cwd = tmp) {
      const env = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', HOME: tmp };
      const { stdout } = await exec('git', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
      return stdout;
    },
    async restart() {
      await server.stop();
      server = await startGitServer({ root, username: USER, password: PASSWORD, port });
    },
    async stop() {
      await server.stop();
      await rm(tmp, { recursive: true, force: true });
    },
  };
  return remote;
}
