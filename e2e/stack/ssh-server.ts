// The local stack's SSH Git server: Debian's OpenSSH sshd on loopback with its own config, host
// key and authorized_keys in the stack folder, serving the same bare repositories as the HTTP
// server. Logins as `git` run a ForceCommand script that maps `/audit.git` to the stack's folder
// and hands the request to git-shell (fetch and push only). The folder also holds a client key
// the server accepts and a known_hosts with the server's key: what env.json's git.ssh names.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDetached, type ProcessRecord } from './processes.ts';

const exec = promisify(execFile);
const SSHD = '/usr/sbin/sshd';

export interface SshServerFiles {
  dir: string;
  identityFile: string;
  knownHostsFile: string;
  hostKeyFile: string;
}

async function keygen(file: string, comment: string): Promise<void> {
  if (!existsSync(file)) await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

/** Writes keys, config and the ForceCommand script (once; keys are kept across restarts). */
export async function prepareSshServer(dir: string, gitRoot: string, port: number): Promise<SshServerFiles> {
  await mkdir(dir, { recursive: true });
  // sshd reads authorized_keys as the git user: the folder (and its parents) must be traversable.
  await chmod(dir, 0o755);
  const hostKeyFile = join(dir, 'ssh_host_ed25519_key');
  const identityFile = join(dir, 'id_ed25519');
  await keygen(hostKeyFile, 'kubescribe-stack-host');
  await keygen(identityFile, 'kubescribe-stack-client');
  await writeFile(join(dir, 'authorized_keys'), await readFile(`${identityFile}.pub`, 'utf8'));
  const hostPub = (await readFile(`${hostKeyFile}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
  const knownHostsFile = join(dir, 'known_hosts');
  await writeFile(knownHostsFile, `[127.0.0.1]:${port} ${hostPub}\n`);
  const serve = join(dir, 'git-serve');
  await writeFile(serve, `#!/bin/sh
# ForceCommand of the stack's sshd: git fetch/push of the repositories under one folder only.
root='${gitRoot}'
case "$SSH_ORIGINAL_COMMAND" in
  "git-upload-pack '"*"'"|"git-receive-pack '"*"'") ;;
  *) echo "this server only serves git fetch and push" >&2; exit 1 ;;
esac
cmd=\${SSH_ORIGINAL_COMMAND%% *}
path=\${SSH_ORIGINAL_COMMAND#* \\'}
path=\${path%\\'}
path=\${path#/}
case "$path" in ""|*..*|*\\'*) echo "no such repository" >&2; exit 1 ;; esac
# The repositories belong to root (the HTTP server); git may use them (see sharedRepository).
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0='*'
exec git-shell -c "$cmd '$root/$path'"
`);
  await chmod(serve, 0o755);
  await writeFile(join(dir, 'sshd_config'), [
    `ListenAddress 127.0.0.1`,
    `Port ${port}`,
    `HostKey ${hostKeyFile}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'StrictModes no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'AllowUsers git',
    'PermitTTY no',
    'AllowTcpForwarding no',
    'AllowAgentForwarding no',
    'X11Forwarding no',
    'PrintMotd no',
    `ForceCommand ${serve}`,
    '',
  ].join('\n'));
  return { dir, identityFile, knownHostsFile, hostKeyFile };
}

/** Lets the `git` login write to repositories that root's HTTP server also writes to. */
export async function shareRepository(repoDir: string): Promise<void> {
  await exec('git', ['-C', repoDir, 'config', 'core.sharedRepository', '0666']);
  await exec('chmod', ['-R', 'a+rwX', repoDir]);
}

export function startSshServer(files: SshServerFiles, marker: string): ProcessRecord {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} not found: install the Debian package openssh-server (scripts/install-deps.sh does)`);
  // sshd wants its privilege separation folder.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  // sshd rewrites its process title over its environment, marker included: a shell that waits for
  // it keeps the marker (isRunning), and `down` signals the whole process group. `; exit` keeps
  // the shell from exec'ing sshd in its place.
  return startDetached('/bin/sh', ['-c', `${SSHD} -D -e -f "$1"; exit $?`, 'sh', join(files.dir, 'sshd_config')], { log: join(files.dir, 'sshd.log'), marker });
}

/** True once the port answers with an SSH banner. */
export function sshAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const done = (ok: boolean): void => { s.destroy(); resolve(ok); };
    s.once('data', (d: Buffer) => done(d.toString('latin1').startsWith('SSH-')));
    s.once('error', () => done(false));
    s.setTimeout(2000, () => done(false));
  });
}
