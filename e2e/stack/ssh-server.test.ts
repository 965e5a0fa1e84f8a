// The stack's SSH Git server on its own: the git CLI pushes and clones over it with the pinned
// host key, only git fetch/push of the served folder is allowed, and stopProcess (what `down`
// does) really stops sshd, whose process title hides the environment marker.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBareRepo } from './git-server.ts';
import { freePort, isRunning, stopProcess, waitFor, type ProcessRecord } from './processes.ts';
import { prepareSshServer, shareRepository, sshAnswers, startSshServer, type SshServerFiles } from './ssh-server.ts';

const exec = promisify(execFile);

describe('SSH git server (sshd + git-shell)', () => {
  let tmp: string;
  let port: number;
  let files: SshServerFiles;
  let rec: ProcessRecord | undefined;
  const cli = async (args: string[], cwd?: string): Promise<string> => (await exec('git', args, {
    cwd: cwd ?? tmp,
    env: { ...process.env, HOME: tmp, GIT_CONFIG_NOSYSTEM: '1', GIT_SSH_COMMAND: `ssh -i ${files.identityFile} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${files.knownHostsFile}` },
  })).stdout;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ssh-server-test-'));
    await chmod(tmp, 0o755); // sshd reads authorized_keys as the git user
    const root = join(tmp, 'srv');
    await shareRepository(await createBareRepo(root, 'audit', { defaultBranch: 'main' }));
    port = await freePort();
    files = await prepareSshServer(join(tmp, 'ssh'), root, port);
    rec = startSshServer(files, `ssh-server-test-${process.pid}`);
    await waitFor('sshd', () => sshAnswers(port), 20_000, 100);
  });
  afterAll(async () => {
    await stopProcess(rec);
    await rm(tmp, { recursive: true, force: true });
  });

  it('serves push and clone to the git CLI with the pinned host key, and nothing else', async () => {
    const url = `ssh://git@127.0.0.1:${port}/audit.git`;
    await cli(['init', '-q', '-b', 'main', 'work']);
    await cli(['-c', 'user.name=t', '-c', 'user.email=t@x', 'commit', '-q', '--allow-empty', '-m', 'over ssh'], join(tmp, 'work'));
    await cli(['push', '-q', url, 'main'], join(tmp, 'work'));
    await cli(['clone', '-q', url, 'clone']);
    expect((await cli(['log', '--format=%s'], join(tmp, 'clone'))).trim()).toBe('over ssh');
    await expect(cli(['clone', '-q', `ssh://git@127.0.0.1:${port}/../etc.git`, 'escape'])).rejects.toThrow();
    await expect(exec('ssh', ['-i', files.identityFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${files.knownHostsFile}`, '-p', String(port), 'git@127.0.0.1', 'id'])).rejects.toThrow();
  });

  it('is stopped by stopProcess, as `down` does', async () => {
    expect(isRunning(rec)).toBe(true);
    await stopProcess(rec);
    expect(isRunning(rec)).toBe(false);
    expect(await sshAnswers(port)).toBe(false);
  });
});
