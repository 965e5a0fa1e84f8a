// Images for the local node without any registry: a folder becomes a one-layer docker-archive
// tarball (manifest.json + config + layer.tar, what `docker save` writes), which containerd loads
// with `ctr -n k8s.io images import`. Made here: the pause image (e2e/node/pause.c, static) and a
// kubectl image (the static kscp binary, invoked as kubectl) for pods that talk to the apiserver.
// Tarballs are cached in ~/.cache/kubescribe/images/ and only made again when their input changes.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

/** The part of an OCI/Docker image config that says how its process runs. */
export interface ImageConfig { Entrypoint?: string[]; Cmd?: string[]; User?: string; WorkingDir?: string; Env?: string[]; ExposedPorts?: Record<string, object> }

export const PAUSE_IMAGE = 'kubescribe.local/pause:1';
export const KUBECTL_IMAGE = 'kubescribe.local/kubectl:1';

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file).on('data', (c) => h.update(c)).on('error', reject).on('end', () => resolve(h.digest('hex')));
  });
}

/** Packs `rootfs` (owners and modes as they are on disk) as a docker-archive tarball `out` tagged `tag`. */
export async function dockerArchive(rootfs: string, out: string, tag: string, config: ImageConfig): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), 'kubescribe-image-'));
  await chmod(rootfs, 0o755); // the image's / (a mkdtemp folder is 0700)
  try {
    const layer = join(tmp, 'layer.tar');
    // Reproducible: sorted names and a fixed time, so the same folder gives the same image.
    await exec('tar', ['-C', rootfs, '--sort=name', '--numeric-owner', '--mtime=@0', '-cf', layer, '.']);
    const diffId = `sha256:${await sha256File(layer)}`;
    // One history entry per layer: a builder that adds layers on top (buildah) requires it.
    const history = [{ created: '1970-01-01T00:00:00Z', created_by: `kubescribe e2e/node/images.ts: ${tag}` }];
    const cfg = JSON.stringify({ architecture: 'amd64', os: 'linux', created: '1970-01-01T00:00:00Z', config, rootfs: { type: 'layers', diff_ids: [diffId] }, history });
    const cfgName = `${createHash('sha256').update(cfg).digest('hex')}.json`;
    await writeFile(join(tmp, cfgName), cfg);
    await writeFile(join(tmp, 'manifest.json'), JSON.stringify([{ Config: cfgName, RepoTags: [tag], Layers: ['layer.tar'] }]));
    await mkdir(dirname(out), { recursive: true });
    await exec('tar', ['-C', tmp, '-cf', `${out}.tmp`, 'manifest.json', cfgName, 'layer.tar']);
    await rename(`${out}.tmp`, out);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Makes the tarball from `make(rootfs)` unless one made from the same `inputs` is cached. */
async function cachedImage(cache: string, name: string, inputs: string, tag: string, config: ImageConfig, make: (rootfs: string) => Promise<void>): Promise<string> {
  const key = createHash('sha256').update(JSON.stringify({ inputs, tag, config })).digest('hex').slice(0, 16);
  const out = join(cache, 'images', `${name}-${key}.tar`);
  if (existsSync(out)) return out;
  const rootfs = await mkdtemp(join(tmpdir(), `kubescribe-rootfs-${name}-`));
  try {
    await make(rootfs);
    await dockerArchive(rootfs, out, tag, config);
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
  return out;
}

/** The pause image: one static program, built with the machine's C compiler. */
export async function pauseImage(cache: string): Promise<string> {
  const src = join(here, 'pause.c');
  return cachedImage(cache, 'pause', await readFile(src, 'utf8'), PAUSE_IMAGE, { Entrypoint: ['/pause'], User: '65535:65535' }, async (rootfs) => {
    await exec('cc', ['-static', '-Os', '-s', '-o', join(rootfs, 'pause'), src]);
  });
}

/** kubectl (the static kscp binary) for pods that check what a pod can reach. */
export async function kubectlImage(cache: string, kscp: string): Promise<string> {
  return cachedImage(cache, 'kubectl', `${kscp}:${await sha256File(kscp)}`, KUBECTL_IMAGE, { Entrypoint: ['/kubectl'], User: '65534:65534' }, async (rootfs) => {
    await copyFile(kscp, join(rootfs, 'kscp'));
    await symlink('kscp', join(rootfs, 'kubectl'));
  });
}

/**
 * Loads a docker-archive tarball into containerd's k8s.io namespace (where the kubelet sees it).
 * Once more when containerd's garbage collector removed a layer the import was about to build on
 * (a new kubescribe image shares its base with the one it replaces: "parent snapshot … does not
 * exist", containerd/containerd#3787; seen once here, the next import went through).
 */
export async function importImage(socket: string, tarball: string): Promise<void> {
  const args = ['--address', socket, '--namespace', 'k8s.io', 'images', 'import', tarball];
  try {
    await exec('ctr', args, { maxBuffer: 16 << 20 });
  } catch (err) {
    if (!/parent snapshot .* does not exist/.test(String((err as { stderr?: string }).stderr))) throw err;
    await exec('ctr', args, { maxBuffer: 16 << 20 });
  }
}
