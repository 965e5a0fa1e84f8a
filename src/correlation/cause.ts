// Why a controller deleted something: the person whose deletion set it off. The namespace
// controller empties a namespace someone deleted; the garbage collector removes the dependents of
// an owner someone deleted. Both act under their own service account, so the webhook records them
// as authors; the cause is the deletion that came first. The webhook remembers every deletion it
// sees by a user — keyed by the namespace's name (for a Namespace) or the object's uid — in the
// correlation store (so peers share it like any correlation), and the watch reads it without
// consuming it: many objects share one cause. A controller's deletion found to have a cause passes
// it on under its own uid, so the dependents of a dependent name the same person.
import type { Author } from './store.ts';

export const NAMESPACE_CONTROLLER = 'system:serviceaccount:kube-system:namespace-controller';
export const GARBAGE_COLLECTOR = 'system:serviceaccount:kube-system:generic-garbage-collector';

const CONTROLLER_NAMES: Record<string, Cause['controller']> = {
  [NAMESPACE_CONTROLLER]: 'namespace controller',
  [GARBAGE_COLLECTOR]: 'garbage collector',
};

export interface Cause {
  /** Who deleted what set this off (several when several distinct users asked; never a guess among them). */
  users: string[];
  /** What they deleted: `namespace shop`, `deployments shop/web`. */
  deleted: string;
  controller: 'namespace controller' | 'garbage collector';
}

const SEP = '\u001f';
/** Cause keys start with a word no operation has, so a correlation lookup never meets one. */
export const namespaceCauseKey = (namespace: string): string => ['CAUSE', 'namespace', namespace].join(SEP);
export const objectCauseKey = (uid: string): string => ['CAUSE', 'uid', uid].join(SEP);
export const isCauseKey = (key: string): boolean => key.startsWith(`CAUSE${SEP}`);

/** A controller that deletes on someone else's behalf (its deletions get a cause, never give one of their own). */
export function isCascadingController(username: string): boolean {
  return username in CONTROLLER_NAMES;
}

/** What a deletion is stored as: the requester, and what they deleted (`namespace shop`, `deployments shop/web`). */
export function causeEntry(author: Author, deleted: string): Author {
  return { username: author.username, ...(author.uid ? { uid: author.uid } : {}), groups: author.groups, deleted };
}

/** How a deleted object reads in a cause: `namespace shop` or `<resource> <namespace/name>`. */
export function describeDeleted(resource: string, namespace: string, name: string): string {
  if (resource === 'namespaces') return `namespace ${name}`;
  return `${resource} ${namespace ? `${namespace}/` : ''}${name}`;
}

export interface CauseLookup {
  peek(key: string): Author[] | undefined;
}

export interface DeletedObject {
  /** Who deleted it (the change's author). */
  username: string;
  namespace: string;
  ownerUids: readonly string[];
}

/**
 * The cause of a deletion by the namespace controller (the namespace's) or the garbage collector
 * (the first owner with one); undefined for anyone else or when nothing was recorded.
 */
export function findCause(store: CauseLookup, d: DeletedObject): Cause | undefined {
  const controller = CONTROLLER_NAMES[d.username];
  if (!controller) return undefined;
  const keys = controller === 'namespace controller' ? [namespaceCauseKey(d.namespace)] : d.ownerUids.map(objectCauseKey);
  for (const k of keys) {
    const entries = store.peek(k);
    if (!entries || entries.length === 0) continue;
    const users = [...new Set(entries.map((e) => e.username))];
    return { users, deleted: entries.at(-1)?.deleted ?? 'an owner', controller };
  }
  return undefined;
}

/** The entries that pass a found cause on to the deleted object's own dependents. */
export function inheritedEntries(cause: Cause): Author[] {
  return cause.users.map((username) => ({ username, groups: [], deleted: cause.deleted }));
}

export interface CauseStore extends CauseLookup {
  record(key: string, author: Author): void;
}

/** What attributeCause reads and sets on a change (src/change.ts). */
export interface DeletionChange {
  operation: string;
  author?: Author;
  namespace: string;
  uid: string;
  ownerUids?: string[];
  cause?: Cause;
}

/**
 * Sets the cause of a controller's DELETE, once its author is known, and passes it on under the
 * object's uid so that the garbage collector's deletions of its dependents name the same person.
 */
export function attributeCause(store: CauseStore, c: DeletionChange): void {
  if (c.operation !== 'DELETE' || !c.author) return;
  const cause = findCause(store, { username: c.author.username, namespace: c.namespace, ownerUids: c.ownerUids ?? [] });
  if (!cause) return;
  c.cause = cause;
  if (c.uid) for (const e of inheritedEntries(cause)) store.record(objectCauseKey(c.uid), e);
}
