// Writes charts/kubescribe/crds/*.yaml from the zod schemas in src/rules/schemas.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { allCrdManifests } from '../src/rules/crd-manifests.ts';

const dir = join(import.meta.dirname, '..', 'charts', 'kubescribe', 'crds');
mkdirSync(dir, { recursive: true });
for (const { file, manifest } of allCrdManifests()) {
  writeFileSync(join(dir, file), `# Generated from src/rules/schemas.ts by \`npm run gen:crds\`; do not edit.\n${stringify(manifest, { lineWidth: 0 })}`);
  process.stdout.write(`wrote ${join('charts/kubescribe/crds', file)}\n`);
}
