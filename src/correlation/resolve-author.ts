// Who made a change, from the requests recorded under its correlation key (the candidates) and
// the object as persisted. Never a guess: one identity among the candidates is the author; several
// are told apart only by what the persisted object says — its newest managedFields entry names the
// field manager of the request that wrote it — and when that does not single one out, there is no
// author: the commit says `unknown` and names every candidate.
import type { Author } from './store.ts';

export interface ManagedFieldsEntry { manager?: string; operation?: string; time?: string }

export interface Resolved {
  /** The author, when the candidates name one identity (or the persisted object picks one). */
  author?: Author;
  /** Distinct identities that may have made the change, when more than one (author then undefined). */
  candidates?: Author[];
}

const identity = (a: Author): string => `${a.username}\u0000${a.uid ?? ''}`;

function byIdentity(authors: readonly Author[]): Author[] {
  // The newest request of each identity: its groups and field manager are the freshest.
  const m = new Map<string, Author>();
  for (const a of authors) m.set(identity(a), a);
  return [...m.values()];
}

/** The manager of the newest managedFields entry (the last one on equal times, as the apiserver appends). */
export function newestManager(entries: readonly ManagedFieldsEntry[] | undefined): string | undefined {
  let best: ManagedFieldsEntry | undefined;
  for (const e of entries ?? []) if (!best || (e.time ?? '') >= (best.time ?? '')) best = e;
  return best?.manager;
}

/** `manager`: the field manager that wrote the persisted version (see newestManager). */
export function resolveAuthor(requests: readonly Author[] | undefined, manager?: string): Resolved {
  if (!requests || requests.length === 0) return {};
  const people = byIdentity(requests);
  if (people.length === 1) return { author: people[0] };
  if (manager !== undefined) {
    const named = byIdentity(requests.filter((r) => r.fieldManager === manager));
    if (named.length === 1) return { author: named[0] };
  }
  return { candidates: people };
}
