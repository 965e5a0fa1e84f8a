// One stack per e2e run, shared by every spec: started here, torn down at the end. A previous
// run's leftovers in the same folder are stopped and purged first, so a crashed run never leaves
// anything that trips the next one.
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { down, repoRoot, up } from './stack/stack.ts';
import type { StackEnv } from './stack/env.ts';

declare module 'vitest' {
  export interface ProvidedContext { stackEnv: StackEnv }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = process.env.KUBESCRIBE_E2E_STACK_DIR ?? join(repoRoot, '.dev', 'e2e');
  await down({ dir, purge: true, log: () => {} });
  const env = await up({ dir, kubescribe: process.env.KUBESCRIBE_NO_OPERATOR !== '1' });
  project.provide('stackEnv', env);
  return async () => {
    if (process.env.KUBESCRIBE_E2E_KEEP === '1') return;
    await down({ dir, purge: false, log: () => {} });
  };
}
