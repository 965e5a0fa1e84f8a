// The environment the image gives kubescribe that changes how the process runs, read from the
// Dockerfile's final stage, so that the local stack, the e2e specs and the benchmarks run
// kubescribe the way a pod does: glibc's malloc thresholds and node's own flags before the program
// (docs/install.md, "The image"). Of its ENV only MALLOC_* is taken; NODE_ENV is the image's
// business and changes nothing in kubescribe.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The Dockerfile's last stage: from its last FROM on. */
function finalStage(dockerfile: string): string {
  return dockerfile.slice(dockerfile.lastIndexOf('\nFROM ') + 1);
}

/** `ENV` pairs of the Dockerfile's last stage (both `ENV A=1 B=2` and `ENV A 1`), in order. */
export function finalStageEnv(dockerfile: string): Record<string, string> {
  const lines = finalStage(dockerfile).replace(/\\\r?\n/g, ' ').split('\n');
  const env: Record<string, string> = {};
  for (const line of lines) {
    const m = /^\s*ENV\s+(.*)$/i.exec(line);
    if (!m) continue;
    const rest = m[1]!.trim();
    if (!rest.includes('=')) {
      const [key = '', ...value] = rest.split(/\s+/);
      env[key] = value.join(' ');
      continue;
    }
    for (const pair of rest.match(/[^\s=]+=("[^"]*"|\S*)/g) ?? []) {
      const i = pair.indexOf('=');
      env[pair.slice(0, i)] = pair.slice(i + 1).replace(/^"(.*)"$/, '$1');
    }
  }
  return env;
}

/** The image's malloc settings, for a kubescribe process started outside the image. */
export function imageRuntimeEnv(repoRoot: string): Record<string, string> {
  const env = finalStageEnv(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
  return Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('MALLOC_')));
}

/** The ENTRYPOINT's exec form of the Dockerfile's last stage: `["node", ..., "dist/kubescribe.mjs"]`. */
export function finalStageEntrypoint(dockerfile: string): string[] {
  const m = /^\s*ENTRYPOINT\s+(\[.*\])\s*$/im.exec(finalStage(dockerfile));
  if (!m) throw new Error('the Dockerfile\'s last stage has no ENTRYPOINT in exec form');
  return JSON.parse(m[1]!) as string[];
}

/** node's flags in the image's ENTRYPOINT (those between `node` and the program), for a local process. */
export function imageNodeArgs(repoRoot: string): string[] {
  const [node, ...rest] = finalStageEntrypoint(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
  if (node !== 'node') throw new Error(`the image's ENTRYPOINT starts with ${String(node)}, not node`);
  const program = rest.findIndex((a) => !a.startsWith('-'));
  return program < 0 ? rest : rest.slice(0, program);
}
