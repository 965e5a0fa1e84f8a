// Holds the image script (kubescribe-image.ts) in step with the Dockerfile: what it reads from the
// final stage is what the Dockerfile says, every COPY is one it knows how to lay out, and the
// user is the one the chart runs as.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseFinalStage, sourceOf } from './kubescribe-image.ts';

const repo = join(import.meta.dirname, '..', '..');
const stage = parseFinalStage(readFileSync(join(repo, 'Dockerfile'), 'utf8'));

describe('the kubescribe image script and the Dockerfile', () => {
  it('reads the user, workdir, entrypoint, command and ports of the final stage', () => {
    expect(stage.config).toMatchObject({
      User: '10001:10001', WorkingDir: '/app', Env: ['NODE_ENV=production'],
      Entrypoint: ['node', '--enable-source-maps', 'dist/kubescribe.mjs'], Cmd: ['run', '--settings', '/etc/kubescribe/settings.yaml'],
      ExposedPorts: { '9443/tcp': {}, '8080/tcp': {} },
    });
    expect({ uid: stage.uid, gid: stage.gid, home: stage.home }).toEqual({ uid: 10001, gid: 10001, home: '/var/lib/kubescribe' });
    expect(stage.dirs).toEqual(['/var/lib/kubescribe', '/etc/kubescribe']);
    expect(stage.ownedByUser).toEqual(['/var/lib/kubescribe']);
  });

  it('knows where every COPY of the final stage comes from', () => {
    expect(stage.copies).toEqual([
      { from: 'deps', src: '/app/node_modules', dest: '/app/node_modules' },
      { from: 'build', src: '/src/dist', dest: '/app/dist' },
      { src: 'package.json', dest: '/app/package.json' },
    ]);
    for (const c of stage.copies) expect(() => sourceOf(c, repo, '/prod/node_modules')).not.toThrow();
    expect(() => sourceOf({ from: 'build', src: '/src/other', dest: '/app/other' }, repo, '')).toThrow(/teach sourceOf/);
  });

  it('runs as the user the chart expects', () => {
    const values = parse(readFileSync(join(repo, 'charts', 'kubescribe', 'values.yaml'), 'utf8')) as { podSecurityContext: Record<string, unknown> };
    expect(values.podSecurityContext).toMatchObject({ runAsNonRoot: true, runAsUser: stage.uid, runAsGroup: stage.gid, fsGroup: stage.gid });
  });
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
