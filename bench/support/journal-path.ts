// Where kubescribe keeps its writer journal (src/git/object-store.ts): <data dir>/repos/<repo>/<url>/<branch>/kubescribe.journal.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** kubescribe.journal of the (single) writer under a kubescribe data dir, once the writer has opened. */
export function findJournal(dataDir: string): string | undefined {
  const walk = (dir: string, depth: number): string | undefined => {
    if (!existsSync(dir)) return undefined;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isFile() && e.name === 'kubescribe.journal') return join(dir, e.name);
      if (e.isDirectory() && depth > 0) {
        const found = walk(join(dir, e.name), depth - 1);
        if (found) return found;
      }
    }
    return undefined;
  };
  return walk(join(dataDir, 'repos'), 4);
}
