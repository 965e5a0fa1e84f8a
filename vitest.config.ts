import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'e2e/stack/**/*.test.ts', 'e2e/node/**/*.test.ts', 'bench/**/*.test.ts'],
          testTimeout: 60_000,
          // Several files start real git, SSH and HTTP servers in beforeAll; on 2 shared cores
          // under the whole suite that has taken longer than vitest's 10 s default (CI, 12-06).
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['e2e/**/*.e2e.ts'],
          // One stack per run: started once, shared by every spec file.
          globalSetup: ['e2e/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          fileParallelism: true,
          maxWorkers: 2,
        },
      },
    ],
  },
});
