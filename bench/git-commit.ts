// Commit rate of GitWriter.commit on a repository of 10,000 files, side by side with
// `git fast-import` writing the same commits (same paths, contents, authors, messages) in the
// same run. Usage: npx tsx bench/git-commit.ts [N=2000]
// Rows: the commit path alone (each commit durable in the journal, as commit() resolves); the
// same plus packing and pushing everything at the end; and the default batching (a push every
// 200 commits or 1 s; the lock is held only to pack and to record the result) end to end
// against the local smart-HTTP server; and the default batching again with every commit signed
// (an SSH ed25519 key, an OpenPGP curve25519 key). The machine is shared: compare rows of one run.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import * as openpgp from 'openpgp';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createBareRepo, startGitServer } from '../e2e/stack/git-server.ts';
import { GitWriter, loadSigner, type CommitSigning } from '../src/git/index.ts';

const FILES = 10_000;
const N = Number(process.argv[2] ?? 2000);
const RESOURCES = ['core/configmaps', 'core/secrets', 'core/services', 'apps/deployments'];

const pathOf = (i: number): string => `ns-${i % 50}/${RESOURCES[Math.floor(i / 50) % RESOURCES.length]}/obj-${i}.yaml`;
const yaml = (i: number, v: number): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: obj-${i}\n  namespace: ns-${i % 50}\n  labels:\n    app: bench\ndata:\n  version: "${v}"\n  payload: ${'x'.repeat(120)}\n`;

interface Change { path: string; content: string | null; author: string; message: string; time: number }

/** The benchmark's commits: mostly updates, some creates and deletes. */
function changes(): Change[] {
  const out: Change[] = [];
  for (let c = 0; c < N; c++) {
    const i = (c * 7919) % FILES;
    let path = pathOf(i);
    let content: string | null = yaml(i, c + 1);
    if (c % 10 === 3) { path = pathOf(FILES + c); content = yaml(FILES + c, c); }
    if (c % 10 === 7) content = null;
    out.push({ path, content, author: ['alice', 'bob', 'carol'][c % 3]!, message: `UPDATE v1 configmaps ns/${path}\n\nKubescribe-User: x\n`, time: 1_700_000_000 + c });
  }
  // A delete of a file already deleted would be a no-op for GitWriter but not for fast-import.
  const deleted = new Set<string>();
  return out.filter((ch) => {
    if (ch.content === null) {
      if (deleted.has(ch.path)) return false;
      deleted.add(ch.path);
    } else deleted.delete(ch.path);
    return true;
  });
}

function fastImportStream(initial: boolean, list: Change[]): Buffer {
  const parts: Buffer[] = [];
  const data = (s: string): void => { const b = Buffer.from(s); parts.push(Buffer.from(`data ${b.length}\n`), b, Buffer.from('\n')); };
  if (initial) {
    parts.push(Buffer.from('commit refs/heads/main\ncommitter seed <seed@example.com> 1600000000 +0000\n'));
    data('seed');
    for (let i = 0; i < FILES; i++) { parts.push(Buffer.from(`M 100644 inline ${pathOf(i)}\n`)); data(yaml(i, 0)); }
  }
  list.forEach((ch, k) => {
    parts.push(Buffer.from(`commit refs/heads/main\nauthor ${ch.author} <${ch.author}@example.com> ${ch.time} +0000\ncommitter kubescribe <kubescribe@example.com> ${ch.time} +0000\n`));
    data(ch.message);
    if (k === 0) parts.push(Buffer.from('from refs/heads/main^0\n'));
    if (ch.content === null) parts.push(Buffer.from(`D ${ch.path}\n`));
    else { parts.push(Buffer.from(`M 100644 inline ${ch.path}\n`)); data(ch.content); }
  });
  return Buffer.concat(parts);
}

function fastImport(gitDir: string, stream: Buffer): Promise<void> {
  return new Promise((ok, fail) => {
    const p = spawn('git', ['--git-dir', gitDir, 'fast-import', '--quiet'], { stdio: ['pipe', 'inherit', 'inherit'] });
    p.on('error', fail);
    p.on('close', (code) => (code === 0 ? ok() : fail(new Error(`git fast-import exited with ${code}`))));
    p.stdin.end(stream);
  });
}

async function main(): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), 'bench-git-commit-'));
  try {
    const list = changes();
    const srv = join(tmp, 'srv');
    const remoteDir = await createBareRepo(srv, 'audit', { defaultBranch: 'main' });
    const batchedDir = await createBareRepo(srv, 'batched', { defaultBranch: 'main' });
    const sshDir = await createBareRepo(srv, 'signed-ssh', { defaultBranch: 'main' });
    const pgpDir = await createBareRepo(srv, 'signed-pgp', { defaultBranch: 'main' });
    const fiDir = await createBareRepo(tmp, 'fast-import', { defaultBranch: 'main' });
    await fastImport(remoteDir, fastImportStream(true, []));
    await fastImport(batchedDir, fastImportStream(true, []));
    await fastImport(sshDir, fastImportStream(true, []));
    await fastImport(pgpDir, fastImportStream(true, []));
    await promisify(execFile)('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(tmp, 'signing')]);
    const sshSigning: CommitSigning = { signer: await loadSigner(await readFile(join(tmp, 'signing'), 'utf8')) };
    const { privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'kubescribe', email: 'kubescribe@example.com' }], format: 'armored' });
    const pgpSigning: CommitSigning = { signer: await loadSigner(privateKey) };
    await fastImport(fiDir, fastImportStream(true, []));

    const server = await startGitServer({ root: srv, username: 'bench', password: 'bench', port: 0 });
    const openMs: number[] = [];
    const openWriter = async (name: string, batching: boolean, signing: CommitSigning = undefined): Promise<GitWriter> => {
      const t = performance.now();
      const w = await GitWriter.open({
        dir: join(tmp, name),
        url: `${server.url}/${name}.git`,
        branch: 'main',
        credentials: () => ({ username: 'bench', password: 'bench' }),
        committer: { name: 'kubescribe', email: 'kubescribe@example.com' },
        signing: () => signing,
        // Batching off: the commit path alone. On: the defaults (push every 1 s or 200 commits).
        ...(batching ? {} : { pushIntervalMs: 3_600_000, pushMaxCommits: Number.MAX_SAFE_INTEGER }),
        logger: pino({ level: 'silent' }),
      });
      if (w.files().count() !== FILES) throw new Error(`expected ${FILES} files, found ${w.files().count()}`);
      openMs.push(performance.now() - t);
      return w;
    };
    const run = async (w: GitWriter): Promise<{ commitMs: number; flushMs: number; pushes: number }> => {
      let pushes = 0;
      w.onPush((r) => { if (!r.ok) throw r.error; pushes++; });
      let t0 = performance.now();
      for (const ch of list) {
        await w.commit({ changes: [{ path: ch.path, content: ch.content }], author: { name: ch.author, email: `${ch.author}@example.com`, timestamp: ch.time }, message: ch.message });
      }
      const commitMs = performance.now() - t0;
      t0 = performance.now();
      const r = await w.flush();
      if (!r.ok) throw r.error;
      const flushMs = performance.now() - t0;
      await w.close();
      return { commitMs, flushMs, pushes };
    };
    const alone = await run(await openWriter('audit', false));
    const batched = await run(await openWriter('batched', true));
    const signedSsh = await run(await openWriter('signed-ssh', true, sshSigning));
    const signedPgp = await run(await openWriter('signed-pgp', true, pgpSigning));
    await server.stop();

    // git fast-import: the same commits, process start to exit (it packs as it goes).
    const stream = fastImportStream(false, list);
    const t0 = performance.now();
    await fastImport(fiDir, stream);
    const fiMs = performance.now() - t0;

    const rate = (ms: number): number => (list.length / ms) * 1000;
    const fi = rate(fiMs);
    const row = (name: string, ms: number): string => `${name.padEnd(44)} ${ms.toFixed(0).padStart(8)} ${rate(ms).toFixed(0).padStart(10)} ${(rate(ms) / fi).toFixed(2).padStart(7)}`;
    console.log(`repository: ${FILES} files; ${list.length} commits of one file each (updates, creates, deletes)`);
    console.log(`${''.padEnd(44)} ${'ms'.padStart(8)} ${'commits/s'.padStart(10)} ${'vs f-i'.padStart(7)}`);
    console.log(row('git fast-import (same commits, to a pack)', fiMs));
    console.log(row('GitWriter.commit (journal, in-memory trees)', alone.commitMs));
    console.log(row('  + pack to disk and push all at the end', alone.commitMs + alone.flushMs));
    console.log(row(`GitWriter, default batching (${batched.pushes} pushes)`, batched.commitMs + batched.flushMs));
    console.log(row('  the same, every commit SSH-signed (ed25519)', signedSsh.commitMs + signedSsh.flushMs));
    console.log(row('  the same, every commit OpenPGP-signed', signedPgp.commitMs + signedPgp.flushMs));
    console.log(`ratio GitWriter.commit / git fast-import: ${(rate(alone.commitMs) / fi).toFixed(2)}`);
    const perCommit = (r: { commitMs: number; flushMs: number }): string => `${(((r.commitMs + r.flushMs) - (batched.commitMs + batched.flushMs)) / list.length * 1000).toFixed(0)} µs`;
    console.log(`signing cost per commit (default batching, signed − unsigned): SSH ${perCommit(signedSsh)}, OpenPGP ${perCommit(signedPgp)}`);
    console.log(`ratio signed (default batching) / git fast-import: SSH ${(rate(signedSsh.commitMs + signedSsh.flushMs) / fi).toFixed(2)}, OpenPGP ${(rate(signedPgp.commitMs + signedPgp.flushMs) / fi).toFixed(2)}`);
    console.log(`GitWriter.open (shallow clone of ${FILES} files over HTTP, tree loaded): ${openMs[0]!.toFixed(0)} ms`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
