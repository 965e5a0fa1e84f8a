import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { finalStageEnv, imageRuntimeEnv } from './image-env.ts';

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
