import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { finalStageEntrypoint, finalStageEnv, imageNodeArgs, imageRuntimeEnv } from './image-env.ts';

describe('finalStageEnv', () => {
  it('reads every ENV form of the last stage only', () => {
    const dockerfile = [
      'FROM node:24-slim AS build',
      'ENV BUILD_ONLY=1',
      'FROM node:24-slim',
      'ENV A=1 B="two words" \\',
      '    C=3',
      'RUN echo ENV NOT=this',
      'ENV D 4 and more',
      'env e=5',
    ].join('\n');
    expect(finalStageEnv(dockerfile)).toEqual({ A: '1', B: 'two words', C: '3', D: '4 and more', e: '5' });
  });
});

describe('imageRuntimeEnv', () => {
  it('gives local instances the image\'s fixed malloc thresholds, and nothing else', () => {
    const env = imageRuntimeEnv(fileURLToPath(new URL('../..', import.meta.url)));
    expect(Object.keys(env).sort()).toEqual(['MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_']);
    for (const v of Object.values(env)) expect(Number(v)).toBeGreaterThan(0);
  });
});

describe('finalStageEntrypoint', () => {
  it('reads the last stage\'s exec-form ENTRYPOINT, and refuses a shell form', () => {
    const head = 'FROM node:24-slim AS build\nENTRYPOINT ["sh"]\nFROM node:24-slim\n';
    expect(finalStageEntrypoint(`${head}ENTRYPOINT ["node", "--flag", "dist/kubescribe.mjs"]\nCMD ["run"]`)).toEqual(['node', '--flag', 'dist/kubescribe.mjs']);
    expect(() => finalStageEntrypoint(`${head}ENTRYPOINT node dist/kubescribe.mjs`)).toThrow(/no ENTRYPOINT in exec form/);
  });
});

describe('imageNodeArgs', () => {
  it('gives local instances the flags the image gives node before the program', () => {
    const repo = fileURLToPath(new URL('../..', import.meta.url));
    const [node, ...rest] = finalStageEntrypoint(readFileSync(join(repo, 'Dockerfile'), 'utf8'));
    expect(node).toBe('node');
    expect([...imageNodeArgs(repo), 'dist/kubescribe.mjs']).toEqual(rest);
  });
});
