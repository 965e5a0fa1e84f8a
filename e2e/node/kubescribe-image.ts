// The kubescribe image for the local node, built from the project's Dockerfile by a real builder:
// buildah (Debian's package; scripts/install-deps.sh installs it as root). Nothing here talks to a
// container registry, so:
// - the base `node:<major>-slim` is made locally from this machine's node binary, npm, a shell
//   and the few tools the Dockerfile's RUN lines call (groupadd, useradd, mkdir, chown), each
//   with the libraries it links, and loaded as `localhost/node:<major>-slim`; the build gets
//   `--build-arg NODE_VERSION=<major>` and `--pull-never`, so the image says the node it holds;
// - `npm ci` inside RUN reaches the npm registry with this machine's npm settings: its registry
//   and, where one is set, its CA file, bind-mounted into every RUN (never baked into the image);
// - RUN steps use the host network (no CNI bridge, no iptables rules beside the node's).
// The result is saved as a docker-archive tarball in ~/.cache/kubescribe/images/, keyed by the
// Dockerfile, everything .dockerignore lets in and the base, and loaded into containerd by the
// node. buildah keeps its layer cache in /var/lib/containers (remove with `buildah rmi --all`).
// Measured (2 cores): base 6 s; cold build 1 min 40 s (npm ci from the registry); a change under
// src/ 30–40 s (the npm ci layers are reused); unchanged inputs: the cached tarball, 0 s.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { dockerArchive } from './images.ts';

const exec = promisify(execFile);

export const KUBESCRIBE_IMAGE = 'kubescribe:local';
const BUILDAH = '/usr/bin/buildah';

/** Why the image cannot be built here, or undefined when it can. */
export function builderBlocker(): string | undefined {
  if (!existsSync(BUILDAH)) return `${BUILDAH} not found: install the Debian package buildah (scripts/install-deps.sh does as root)`;
  if (process.getuid?.() !== 0) return 'buildah builds the image as root here';
  return undefined;
}

/**
 * The files of the build context that .dockerignore lets in (relative paths, sorted). Supports
 * the form this project uses: `*` then `!path` or `!folder/` exceptions.
 */
export function contextFiles(repo: string): string[] {
  const lines = readFileSync(join(repo, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines[0] !== '*' || lines.slice(1).some((l) => !l.startsWith('!'))) {
    throw new Error('kubescribe-image: .dockerignore is expected to be `*` followed by `!path` lines; teach contextFiles() the new form');
  }
  const files: string[] = [];
  const walk = (rel: string): void => {
    const abs = join(repo, rel);
    if (!existsSync(abs)) return;
    if (statSync(abs).isDirectory()) for (const e of readdirSync(abs)) walk(join(rel, e));
    else files.push(rel);
  };
  for (const l of lines.slice(1)) walk(l.slice(1).replace(/\/$/, ''));
  return [...new Set(files)].sort();
}

/** The cache key of the image: Dockerfile, build context, base and build arguments. */
export function imageKey(repo: string, base: string, buildArgs: readonly string[]): string {
  const h = createHash('sha256').update(readFileSync(join(repo, 'Dockerfile'))).update(base).update(buildArgs.join('\0'));
  for (const f of contextFiles(repo)) h.update(`\0${f}\0`).update(readFileSync(join(repo, f)));
  return h.digest('hex').slice(0, 16);
}

/** The programs the Dockerfile's RUN lines and npm need, at their paths on this (usrmerged Debian) machine. */
const BASE_PROGRAMS = ['/usr/bin/dash', '/usr/bin/env', '/usr/bin/mkdir', '/usr/bin/chown', '/usr/sbin/groupadd', '/usr/sbin/useradd'];
const BASE_ETC = ['/etc/login.defs', '/etc/default/useradd', '/etc/nsswitch.conf'];

async function copyWithLibraries(rootfs: string, program: string, to = program): Promise<void> {
  await mkdir(join(rootfs, dirname(to)), { recursive: true });
  await copyFile(program, join(rootfs, to));
  const ldd = (await exec('ldd', [program])).stdout;
  for (const lib of ldd.matchAll(/(\/\S+) \(0x/g)) {
    const path = lib[1] ?? '';
    await mkdir(join(rootfs, dirname(path)), { recursive: true });
    await copyFile(path, join(rootfs, path));
  }
}

/** Makes (once per node binary and npm) the local `node:<major>-slim` base and loads it into buildah. */
async function nodeBase(cache: string, major: string): Promise<string> {
  // npm as installed with node: <prefix>/lib/node_modules/npm beside <prefix>/bin/node.
  const npmDir = join(dirname(dirname(process.execPath)), 'lib', 'node_modules', 'npm');
  if (!existsSync(join(npmDir, 'package.json'))) throw new Error(`kubescribe-image: npm not found at ${npmDir} (beside ${process.execPath})`);
  const npmVersion = (JSON.parse(readFileSync(join(npmDir, 'package.json'), 'utf8')) as { version: string }).version;
  const tag = `localhost/node:${major}-slim`;
  const key = createHash('sha256').update(process.execPath).update(process.version).update(npmVersion).update(BASE_PROGRAMS.join()).digest('hex').slice(0, 16);
  const tarball = join(cache, 'images', `node-base-${key}.tar`);
  if (!existsSync(tarball)) {
    const rootfs = await mkdtemp(join(tmpdir(), 'kubescribe-node-base-'));
    try {
      // A usrmerged layout like Debian's: /bin, /sbin, /lib, /lib64 point into /usr.
      for (const d of ['bin', 'sbin', 'lib', 'lib64']) {
        await mkdir(join(rootfs, 'usr', d), { recursive: true });
        await symlink(`usr/${d}`, join(rootfs, d));
      }
      await copyWithLibraries(rootfs, process.execPath, '/usr/local/bin/node');
      for (const p of BASE_PROGRAMS) await copyWithLibraries(rootfs, p);
      await symlink('dash', join(rootfs, 'usr/bin/sh'));
      // npm as node:slim has it: /usr/local/lib/node_modules/npm, linked from /usr/local/bin.
      await mkdir(join(rootfs, 'usr/local/lib/node_modules'), { recursive: true });
      await exec('cp', ['-a', npmDir, join(rootfs, 'usr/local/lib/node_modules/npm')]);
      await symlink('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm'));
      await symlink('../lib/node_modules/npm/bin/npx-cli.js', join(rootfs, 'usr/local/bin/npx'));
      for (const f of BASE_ETC) if (existsSync(f)) { await mkdir(join(rootfs, dirname(f)), { recursive: true }); await copyFile(f, join(rootfs, f)); }
      // The accounts of node:slim (root, nobody and node:1000); groupadd/useradd add to them.
      await writeFile(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nnode:x:1000:1000::/home/node:/bin/sh\n');
      await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\nnode:x:1000:\n');
      await writeFile(join(rootfs, 'etc/shadow'), 'root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\nnode:*:19000:0:99999:7:::\n', { mode: 0o640 });
      await writeFile(join(rootfs, 'etc/gshadow'), 'root:*::\nnogroup:*::\nnode:!::\n', { mode: 0o640 });
      for (const d of ['tmp', 'root']) await mkdir(join(rootfs, d), { recursive: true });
      await chmod(join(rootfs, 'tmp'), 0o1777);
      await dockerArchive(rootfs, tarball, tag, {
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `NODE_VERSION=${process.version.slice(1)}`],
        Cmd: ['node'],
      });
    } finally {
      await rm(rootfs, { recursive: true, force: true });
    }
  }
  // Loaded when buildah does not hold this base yet (a label would not survive docker-archive: compare the tarball's image id).
  const have = await exec(BUILDAH, ['images', '--noheading', '--format', '{{.ID}}', tag]).then((r) => r.stdout.trim(), () => '');
  const cfgName = (JSON.parse((await exec('tar', ['-xOf', tarball, 'manifest.json'])).stdout) as Array<{ Config: string }>)[0]?.Config ?? '';
  if (!have || !cfgName.startsWith(have)) {
    await exec(BUILDAH, ['pull', '--quiet', `docker-archive:${tarball}`], { maxBuffer: 16 << 20 });
  }
  return `${tag}@${cfgName}`;
}

/** `-v` mounts that give `npm ci` inside RUN this machine's registry and CA file (nothing is baked into the image). */
async function npmMounts(work: string): Promise<string[]> {
  const get = async (k: string): Promise<string> => (await exec('npm', ['config', 'get', k])).stdout.trim();
  const registry = await get('registry');
  const cafile = await get('cafile');
  const lines = [`registry=${registry}`];
  const mounts: string[] = [];
  if (cafile && cafile !== 'null' && existsSync(cafile)) {
    lines.push('cafile=/run/kubescribe-build/ca.crt');
    mounts.push('-v', `${cafile}:/run/kubescribe-build/ca.crt:ro`);
  }
  await writeFile(join(work, 'npmrc'), `${lines.join('\n')}\n`);
  // npm's global config is <prefix>/etc/npmrc, and node's prefix is /usr/local in the base.
  mounts.push('-v', `${join(work, 'npmrc')}:/usr/local/etc/npmrc:ro`);
  return mounts;
}

/** Builds (or finds cached) the docker-archive tarball of kubescribe:local from the Dockerfile. */
export async function kubescribeImage(repo: string, cache: string, log: (m: string) => void = () => {}): Promise<string> {
  const blocker = builderBlocker();
  if (blocker) throw new Error(`kubescribe-image: ${blocker}`);
  const major = process.versions.node.split('.')[0] ?? '20';
  const base = await nodeBase(cache, major);
  const buildArgs = [`NODE_VERSION=${major}`];
  const out = join(cache, 'images', `kubescribe-${imageKey(repo, base, buildArgs)}.tar`);
  if (existsSync(out)) return out;
  const work = await mkdtemp(join(tmpdir(), 'kubescribe-build-'));
  const started = Date.now();
  const buildLog = join(cache, 'images', 'kubescribe-build.log');
  try {
    log(`building ${KUBESCRIBE_IMAGE} from the Dockerfile with buildah (log ${buildLog})`);
    const args = ['bud', '--layers', '--pull-never', '--network', 'host', ...buildArgs.flatMap((a) => ['--build-arg', a]),
      ...(await npmMounts(work)), '-t', `localhost/${KUBESCRIBE_IMAGE}`, '-f', join(repo, 'Dockerfile'), repo];
    const r = await exec(BUILDAH, args, { maxBuffer: 64 << 20 }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
      void writeFile(buildLog, `${err.stdout ?? ''}\n${err.stderr ?? ''}`);
      throw new Error(`kubescribe-image: buildah bud of the Dockerfile failed; see ${buildLog}: ${(err.stderr ?? err.message).trim().split('\n').slice(-3).join(' | ')}`);
    });
    await writeFile(buildLog, `${r.stdout}\n${r.stderr}`);
    await mkdir(dirname(out), { recursive: true });
    await rm(`${out}.tmp`, { force: true });
    await exec(BUILDAH, ['push', '--quiet', `localhost/${KUBESCRIBE_IMAGE}`, `docker-archive:${out}.tmp:${KUBESCRIBE_IMAGE}`], { maxBuffer: 16 << 20 });
    await rename(`${out}.tmp`, out);
    // Only the newest image is kept: each is ~250 MB, and buildah's layer cache rebuilds an older one fast.
    for (const f of readdirSync(dirname(out))) if (/^kubescribe-[0-9a-f]{16}\.tar$/.test(f) && join(dirname(out), f) !== out) await rm(join(dirname(out), f), { force: true });
    log(`built ${KUBESCRIBE_IMAGE} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return out;
}
