// Lint rules. The layering rule keeps the main path importing forward only (see docs/architecture.md):
// side concerns (status, metrics, leader) import no main-path folder; only app.ts knows everything.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const mainPath = ['admission', 'correlation', 'watch', 'queue', 'git', 'resync', 'rules'];
const forbid = (folders) => ({
  patterns: folders.map((f) => ({ group: [`../${f}/*`, `../${f}`], message: `layering: this folder may not import src/${f}` })),
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
  { files: ['src/sanitize/**/*.ts'], rules: { 'no-restricted-imports': ['error', forbid([...mainPath, 'status', 'leader'])] } },
  { files: ['src/admission/**/*.ts'], rules: { 'no-restricted-imports': ['error', forbid(['watch', 'queue', 'git', 'resync'])] } },
  { files: ['src/correlation/**/*.ts'], rules: { 'no-restricted-imports': ['error', forbid(['admission', 'watch', 'queue', 'git', 'resync'])] } },
  { files: ['src/queue/**/*.ts'], rules: { 'no-restricted-imports': ['error', forbid(['admission', 'watch', 'correlation', 'resync'])] } },
  { files: ['src/git/**/*.ts'], rules: { 'no-restricted-imports': ['error', forbid(['admission', 'watch', 'correlation', 'queue', 'resync', 'rules', 'status'])] } },
  { files: ['src/{status,metrics,leader}/**/*.ts'], rules: { 'no-restricted-imports': ['error', forbid(mainPath)] } },
);
