// Lint rules. The layering rule keeps the main path importing forward only (see docs/architecture.md):
//   admission → correlation; watch → correlation; controller → rules, watch, queue, git, status;
//   peers → correlation; side concerns (status, metrics, leader) import no main-path folder; the CLI
//   reads repositories through git/ only; only app.ts (and main.ts) know everything.
// Every folder of src/ has a line in LAYERS (a test-only import across layers is allowed).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const FOLDERS = ['admission', 'cli', 'controller', 'correlation', 'git', 'leader', 'metrics', 'peers', 'queue', 'rules', 'sanitize', 'settings', 'status', 'watch'];
/** Which other folders of src/ each folder may import. */
const LAYERS = {
  // peers: the webhook's thread serves the peer routes on the webhook's port (admission/webhook-thread.ts).
  admission: ['correlation', 'peers', 'sanitize'],
  cli: ['git', 'sanitize', 'settings'],
  controller: ['correlation', 'git', 'metrics', 'queue', 'rules', 'sanitize', 'settings', 'status', 'watch'],
  correlation: [],
  git: ['sanitize'],
  leader: [],
  metrics: [],
  peers: ['correlation'],
  queue: [],
  rules: ['correlation', 'sanitize'],
  sanitize: [],
  settings: ['git', 'sanitize'],
  status: [],
  watch: ['correlation'],
};
const layering = (folder) => ({
  files: [`src/${folder}/**/*.ts`],
  ignores: ['**/*.test.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: FOLDERS.filter((f) => f !== folder && !LAYERS[folder].includes(f))
        .map((f) => ({ group: [`../${f}/*`, `../${f}`, `../../${f}/*`], message: `layering: src/${folder} may not import src/${f} (eslint.config.js LAYERS)` })),
    }],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.dev/**', 'e2e/controlplane/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  ...FOLDERS.map(layering),
);
