// The kubescribe image for the local node, assembled from the Dockerfile's final stage: no image
// builder and no registry (for the node:*-slim base) run here, so this reads the Dockerfile
// (USER, WORKDIR, ENV, EXPOSE, ENTRYPOINT, CMD, the uid/gid and folders its RUN makes, what it
// COPYs) and lays out exactly that: the machine's node binary with the libraries it links, the
// production node_modules (npm ci --omit=dev), dist/ and package.json under the WORKDIR, owned
// by root, and the user's data folder owned by the user. kubescribe-image.test.ts holds the
// parsing to the Dockerfile, so a change there shows up here or fails.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, copyFile, cp, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { promisify } from 'node:util';
import { dockerArchive, type ImageConfig } from './images.ts';

const exec = promisify(execFile);

export const KUBESCRIBE_IMAGE = 'kubescribe:local';

export interface FinalStage {
  config: ImageConfig;
  uid: number;
  gid: number;
  home: string;
  /** Folders its RUN makes, and which of them it gives to the user. */
  dirs: string[];
  ownedByUser: string[];
  /** COPY lines: from a stage (or the context), source, destination (absolute). */
  copies: Array<{ from?: string; src: string; dest: string }>;
}

/** Reads what the final stage of the Dockerfile makes. */
export function parseFinalStage(dockerfile: string): FinalStage {
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const last = lines.map((l, i) => (/^FROM /i.test(l) ? i : -1)).filter((i) => i >= 0).pop() ?? 0;
  const st: FinalStage = { config: { Env: [] }, uid: 0, gid: 0, home: '/', dirs: [], ownedByUser: [], copies: [] };
  let workdir = '/';
  for (const line of lines.slice(last + 1)) {
    const [op = '', ...rest] = line.split(/\s+/);
    const arg = rest.join(' ');
    switch (op.toUpperCase()) {
      case 'ENV': st.config.Env!.push(...rest.filter((r) => r.includes('='))); break;
      case 'WORKDIR': workdir = posix.resolve(workdir, arg); st.config.WorkingDir = workdir; break;
      case 'USER': st.config.User = arg; break;
      case 'EXPOSE': st.config.ExposedPorts = Object.fromEntries(rest.map((p) => [p.includes('/') ? p : `${p}/tcp`, {}])); break;
      case 'ENTRYPOINT': st.config.Entrypoint = JSON.parse(arg) as string[]; break;
      case 'CMD': st.config.Cmd = JSON.parse(arg) as string[]; break;
      case 'RUN': {
        st.uid = Number(/useradd .*--uid (\d+)/.exec(arg)?.[1] ?? st.uid);
        st.gid = Number(/groupadd .*--gid (\d+)/.exec(arg)?.[1] ?? st.gid);
        st.home = /--home-dir (\S+)/.exec(arg)?.[1] ?? st.home;
        for (const m of arg.matchAll(/mkdir -p ((?:\/\S+\s*)+)/g)) st.dirs.push(...(m[1] ?? '').trim().split(/\s+/).filter((d) => d.startsWith('/')));
        for (const m of arg.matchAll(/chown \d+:\d+ ((?:\/\S+\s*)+)/g)) st.ownedByUser.push(...(m[1] ?? '').trim().split(/\s+/).filter((d) => d.startsWith('/')));
        break;
      }
      case 'COPY': {
        const from = /--from=(\S+)/.exec(arg)?.[1];
        const paths = rest.filter((r) => !r.startsWith('--'));
        const dest = paths.pop() ?? '';
        for (const src of paths) {
          const abs = posix.resolve(workdir, dest);
          st.copies.push({ ...(from ? { from } : {}), src, dest: dest.endsWith('/') ? posix.join(abs, posix.basename(src)) : abs });
        }
        break;
      }
      default: break;
    }
  }
  return st;
}

/** Where each COPY source is on this machine: the build stage's dist/ is ours, deps' node_modules a production install. */
export function sourceOf(copy: FinalStage['copies'][number], repo: string, prodModules: string): string {
  if (copy.from === 'deps' && copy.src === '/app/node_modules') return prodModules;
  if (copy.from === 'build' && copy.src === '/src/dist') return join(repo, 'dist');
  if (copy.from === undefined) return join(repo, copy.src);
  throw new Error(`kubescribe-image: the Dockerfile copies ${copy.src} from stage ${copy.from}, which this script does not know; teach sourceOf()`);
}

/** `npm ci --omit=dev` once per package-lock.json, cached. */
async function productionModules(repo: string, cache: string): Promise<string> {
  const lock = readFileSync(join(repo, 'package-lock.json'));
  const dir = join(cache, `prod-modules-${createHash('sha256').update(lock).digest('hex').slice(0, 16)}`);
  if (existsSync(join(dir, 'node_modules'))) return join(dir, 'node_modules');
  const tmp = `${dir}.tmp.${process.pid}`;
  await mkdir(tmp, { recursive: true });
  await copyFile(join(repo, 'package.json'), join(tmp, 'package.json'));
  await copyFile(join(repo, 'package-lock.json'), join(tmp, 'package-lock.json'));
  await exec('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: tmp, maxBuffer: 16 << 20 });
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  return join(dir, 'node_modules');
}

/** The node binary and every library it loads, at the same paths. */
async function copyNode(rootfs: string): Promise<void> {
  const node = process.execPath;
  await mkdir(join(rootfs, 'usr/local/bin'), { recursive: true });
  await copyFile(node, join(rootfs, 'usr/local/bin/node'));
  const ldd = (await exec('ldd', [node])).stdout;
  for (const lib of ldd.matchAll(/(\/\S+) \(0x/g)) {
    const path = lib[1] ?? '';
    await mkdir(join(rootfs, dirname(path)), { recursive: true });
    await copyFile(path, join(rootfs, path));
  }
}

/** Builds (or finds cached) the docker-archive tarball of kubescribe:local; undefined without dist/. */
export async function kubescribeImage(repo: string, cache: string): Promise<string | undefined> {
  const bundle = join(repo, 'dist', 'kubescribe.mjs');
  if (!existsSync(bundle)) return undefined;
  const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
  const key = createHash('sha256').update(dockerfile).update(readFileSync(join(repo, 'package-lock.json'))).update(process.execPath).update(process.version);
  for (const f of ['kubescribe.mjs', 'kubescribe.mjs.map']) if (existsSync(join(repo, 'dist', f))) key.update(readFileSync(join(repo, 'dist', f)));
  const out = join(cache, 'images', `kubescribe-${key.digest('hex').slice(0, 16)}.tar`);
  if (existsSync(out)) return out;
  const st = parseFinalStage(dockerfile);
  const prod = await productionModules(repo, cache);
  const rootfs = await mkdtemp(join(tmpdir(), 'kubescribe-rootfs-'));
  try {
    await copyNode(rootfs);
    await mkdir(join(rootfs, 'etc'), { recursive: true });
    // What groupadd/useradd write; /tmp is a volume in the chart (read-only root filesystem).
    await writeFile(join(rootfs, 'etc/passwd'), `root:x:0:0:root:/root:/usr/sbin/nologin\nkubescribe:x:${st.uid}:${st.gid}::${st.home}:/usr/sbin/nologin\n`);
    await writeFile(join(rootfs, 'etc/group'), `root:x:0:\nkubescribe:x:${st.gid}:\n`);
    await mkdir(join(rootfs, 'tmp'), { recursive: true });
    await chmod(join(rootfs, 'tmp'), 0o1777);
    for (const d of st.dirs) await mkdir(join(rootfs, d), { recursive: true });
    for (const d of st.ownedByUser) await chown(join(rootfs, d), st.uid, st.gid);
    for (const c of st.copies) {
      await mkdir(dirname(join(rootfs, c.dest)), { recursive: true });
      await cp(sourceOf(c, repo, prod), join(rootfs, c.dest), { recursive: true, dereference: false });
    }
    const config: ImageConfig = { ...st.config, Env: [...(st.config.Env ?? []), 'PATH=/usr/local/bin:/usr/bin:/bin'] };
    await dockerArchive(rootfs, out, KUBESCRIBE_IMAGE, config);
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
  return out;
}
