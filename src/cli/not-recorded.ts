// The error for an object that the branch has no trace of, with what a user most likely got
// wrong: a near-miss name in the same folder, the same name in another namespace, or a
// repository written under a base folder that was not given. Only the branch tip is searched
// for hints, so building the error stays cheap.

import { CliError } from './errors.ts';
import { CLUSTER_FOLDER, displayObject, objectPath, splitPath } from './object-path.ts';
import type { ObjectTarget } from './command-line.ts';
import type { AuditRepo } from './repo-source.ts';
import type { RepoReader } from './repo-reader.ts';
import { displayResource } from './resource-names.ts';

export async function notRecordedError(reader: RepoReader, repo: AuditRepo, baseFolder: string, target: ObjectTarget): Promise<CliError> {
  const segments = splitPath(objectPath(baseFolder, target.ref));
  const what = `${displayResource(target.resource)} ${displayObject(target.ref)}`;
  const message = `${what} was never recorded on branch ${repo.branch} of ${repo.label} (looked for ${segments.join('/')})`;
  const hints: string[] = [];
  const tip = await reader.readCommit(repo.tip);
  if (tip) {
    const baseSegments = segments.slice(0, -4);
    const base = await reader.treeAt(tip.tree, baseSegments);
    const folder = await reader.treeAt(tip.tree, segments.slice(0, -1));
    if (folder) {
      const names = [...(await reader.listTree(folder)).keys()].filter((n) => n.endsWith('.yaml')).map((n) => n.slice(0, -'.yaml'.length));
      const close = closeNames(target.ref.name, names);
      if (close.length > 0) hints.push(`recorded in the same folder: ${close.join(', ')}`);
    }
    if (base) {
      const scopes = [...(await reader.listTree(base)).entries()].filter(([, e]) => e.type === 'tree').map(([n]) => n);
      const elsewhere: string[] = [];
      for (const scope of scopes) {
        if (scope === segments.at(-4)) continue;
        if (await reader.blobAt(base, [scope, ...segments.slice(-3)])) elsewhere.push(scope === CLUSTER_FOLDER ? '(cluster-scoped)' : scope);
      }
      if (elsewhere.length > 0) hints.push(`the same name is recorded in namespace ${elsewhere.slice(0, 5).join(', ')}`);
      if (hints.length === 0 && !scopes.includes(segments.at(-4) ?? '')) {
        const where = baseFolder === '' ? 'the repository root' : `base folder "${baseFolder}"`;
        hints.push(`folders at ${where}: ${scopes.slice(0, 8).join(', ') || '(none)'}; is --base-folder right?`);
      }
    } else {
      hints.push(`base folder "${baseFolder}" does not exist on branch ${repo.branch}`);
    }
  }
  return new CliError(message, { hint: hints.join('\n') || undefined });
}

function closeNames(name: string, candidates: readonly string[]): string[] {
  const related = candidates.filter((c) => c !== name && (c.includes(name) || name.includes(c) || sharedPrefix(c, name) >= Math.min(4, name.length)));
  return related.sort().slice(0, 5);
}

function sharedPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
