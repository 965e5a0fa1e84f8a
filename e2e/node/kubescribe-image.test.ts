// The kubescribe image is built from the Dockerfile by buildah (kubescribe-image.ts). Here: the
// build context and cache key are what .dockerignore lets in; the Dockerfile runs as the user the
// chart expects and lets in every script its build runs; and, as root with buildah (always on CI),
// the built image's configuration and that it starts as that user.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { builderBlocker, contextFiles, imageKey, KUBESCRIBE_IMAGE, kubescribeImage } from './kubescribe-image.ts';
import { imageRuntimeEnv } from '../stack/image-env.ts';

const exec = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..');
const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');

describe('the image build context', () => {
  const copy = mkdtempSync(join(tmpdir(), 'kubescribe-context-'));
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it('is what .dockerignore lets in, and only a change there makes a new image', () => {
    const files = contextFiles(repo);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/bundle.mjs', 'src/main.ts']));
    expect(files.filter((f) => !f.startsWith('src/'))).toEqual(['package-lock.json', 'package.json', 'scripts/bundle.mjs', 'tsconfig.build.json', 'tsconfig.json']);
    for (const f of [...files, 'Dockerfile', '.dockerignore']) cpSync(join(repo, f), join(copy, f), { recursive: true });
    writeFileSync(join(copy, 'README.md'), 'not in the context');
    const key = imageKey(copy, 'base', ['NODE_VERSION=20']);
    writeFileSync(join(copy, 'README.md'), 'still not in the context');
    expect(imageKey(copy, 'base', ['NODE_VERSION=20'])).toBe(key);
    writeFileSync(join(copy, 'src/main.ts'), `${readFileSync(join(copy, 'src/main.ts'), 'utf8')}\n// changed\n`);
    expect(imageKey(copy, 'base', ['NODE_VERSION=20'])).not.toBe(key);
    expect(imageKey(copy, 'other base', ['NODE_VERSION=20'])).not.toBe(imageKey(copy, 'base', ['NODE_VERSION=20']));
    writeFileSync(join(copy, '.dockerignore'), '*\n!src/\n**/*.md\n');
    expect(() => contextFiles(copy)).toThrow(/teach contextFiles/);
  });
});

describe('the Dockerfile', () => {
  it('runs as the user the chart expects', () => {
    const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    const uid = Number(/useradd .*--uid (\d+)/.exec(final)?.[1]);
    const gid = Number(/groupadd .*--gid (\d+)/.exec(final)?.[1]);
    expect(/^USER (\S+)$/m.exec(final)?.[1]).toBe(`${uid}:${gid}`);
    const values = parse(readFileSync(join(repo, 'charts', 'kubescribe', 'values.yaml'), 'utf8')) as { podSecurityContext: Record<string, unknown> };
    expect(values.podSecurityContext).toMatchObject({ runAsNonRoot: true, runAsUser: uid, runAsGroup: gid, fsGroup: gid });
  });
});

const blocked = builderBlocker();
describe.skipIf(blocked !== undefined && !process.env.CI)('the image buildah builds from the Dockerfile', () => {
  it('runs kubescribe as 10001 from /app with the Dockerfile\'s entrypoint and command', async () => {
    expect(blocked, 'CI builds the image (as root, with buildah from scripts/install-deps.sh)').toBeUndefined();
    const tarball = await kubescribeImage(repo, process.env.KUBESCRIBE_CACHE ?? join(homedir(), '.cache', 'kubescribe'));
    const manifest = JSON.parse((await exec('tar', ['-xOf', tarball, 'manifest.json'])).stdout) as Array<{ Config: string; RepoTags: string[] }>;
    expect(manifest[0]?.RepoTags.some((t) => t.endsWith(KUBESCRIBE_IMAGE))).toBe(true);
    const cfg = JSON.parse((await exec('tar', ['-xOf', tarball, manifest[0]!.Config], { maxBuffer: 1 << 20 })).stdout) as { config: Record<string, unknown> };
    expect(cfg.config).toMatchObject({
      User: '10001:10001', WorkingDir: '/app',
      Entrypoint: ['node', 'dist/kubescribe.mjs'], Cmd: ['run', '--settings', '/etc/kubescribe/settings.yaml'],
      ExposedPorts: { '9443/tcp': {}, '8080/tcp': {} },
    });
    expect(cfg.config.Env).toContain('NODE_ENV=production');
    // The malloc settings the local stack copies (e2e/stack/image-env.ts) are the image's.
    for (const [k, v] of Object.entries(imageRuntimeEnv(repo))) expect(cfg.config.Env).toContain(`${k}=${v}`);
    // The image starts as its user: no settings file, so kubescribe says how to run it (exit 2).
    const ctr = (await exec('buildah', ['from', '--pull-never', `localhost/${KUBESCRIBE_IMAGE}`])).stdout.trim();
    try {
      const run = await exec('buildah', ['run', ctr, '--', 'node', '-e', 'console.log(process.getuid(), process.cwd())']);
      expect(run.stdout.trim()).toBe('10001 /app');
      const usage = await exec('buildah', ['run', ctr, '--', 'node', 'dist/kubescribe.mjs']).then(() => '', (e: { stderr?: string; stdout?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`);
      expect(usage).toMatch(/usage: kubescribe run --settings <file>/);
    } finally {
      await exec('buildah', ['rm', ctr]);
    }
  }, 600_000);
});

describe('the Dockerfile build stage', () => {
  it('lets in and copies every file `npm run build` runs (a docker build failed on scripts/bundle.mjs)', () => {
    const build = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.build ?? '';
    const scripts = [...build.matchAll(/\bnode\s+(\S+\.m?js)\b/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    const ignore = readFileSync(join(repo, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const dockerfile = readFileSync(join(repo, 'Dockerfile'), 'utf8');
    const buildStage = dockerfile.slice(dockerfile.search(/^FROM .* AS build$/m), dockerfile.search(/^RUN npm run build$/m));
    for (const file of scripts) {
      expect(ignore, `.dockerignore lets ${file} in`).toContain(`!${file}`);
      expect(buildStage, `the build stage copies ${file} before npm run build`).toMatch(new RegExp(`^COPY .*${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`, 'm'));
    }
  });
});
