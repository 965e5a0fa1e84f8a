// The repository layout contract, read side: where an object's YAML lives
// (`<baseFolder>/<namespace or _cluster>/<group or core>/<resource>/<name>.yaml`) and the
// reverse, from a changed path back to the object. The forward direction is the writer's own
// function (src/git/paths.ts), so reader and writer cannot drift apart; a test checks that the
// reverse undoes it.

import { KubescribeError } from '../errors.ts';
import { objectPath as writerObjectPath } from '../git/paths.ts';
import { usageError } from './errors.ts';

export const CLUSTER_FOLDER = '_cluster';
export const CORE_FOLDER = 'core';
const SUFFIX = '.yaml';

export interface ObjectRef {
  /** '' for the core group. */
  readonly group: string;
  readonly resource: string;
  /** undefined for a cluster-scoped object. */
  readonly namespace: string | undefined;
  readonly name: string;
}

/** `a//b/` → `a/b`; `''`, `/` and `.` → `''` (the repository root). */
export function normalizeBaseFolder(baseFolder: string): string {
  return splitPath(baseFolder).join('/');
}

export function splitPath(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '' && segment !== '.');
}

/** The path the writer gives the object; a name it would refuse is a usage error here. */
export function objectPath(baseFolder: string, ref: ObjectRef): string {
  try {
    return writerObjectPath({ baseFolder: normalizeBaseFolder(baseFolder), namespace: ref.namespace, group: ref.group, resource: ref.resource, name: ref.name });
  } catch (err) {
    if (err instanceof KubescribeError && err.code === 'KUBESCRIBE_ERR_GIT_PATH_UNSAFE') throw usageError(err.message);
    throw err;
  }
}

/** The object a path below the base folder holds, or undefined for files outside the layout. */
export function parseObjectPath(relativePath: string): ObjectRef | undefined {
  const segments = splitPath(relativePath);
  if (segments.length !== 4) return undefined;
  const [scope, group, resource, file] = segments as [string, string, string, string];
  if (!file.endsWith(SUFFIX) || file.length === SUFFIX.length) return undefined;
  return {
    namespace: scope === CLUSTER_FOLDER ? undefined : scope,
    group: group === CORE_FOLDER ? '' : group,
    resource,
    name: file.slice(0, -SUFFIX.length),
  };
}

/** `shop/web`, or `view` for a cluster-scoped object: the form of the subject and trailer. */
export function displayObject(ref: Pick<ObjectRef, 'namespace' | 'name'>): string {
  return ref.namespace === undefined ? ref.name : `${ref.namespace}/${ref.name}`;
}
