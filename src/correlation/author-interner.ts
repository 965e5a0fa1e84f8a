// One shared, frozen Author per identity. Reviews come from few identities (users, controllers'
// service accounts), and the store keeps an author per entry for minutes: an entry then holds a
// reference instead of an object, a groups list and their strings — fewer objects for the garbage
// collector to copy and mark on every review, and less memory. Used by the webhook's handler and
// by the main thread for the records the webhook's thread sends it (each a fresh copy). Bounded
// (identities come from requests): emptied when full.
import type { Author } from './store.ts';

export type AuthorInterner = (username: string, uid: string | undefined, groups: readonly string[], fieldManager: string | undefined) => Author;

/** An author received as a copy (from the webhook's thread) as the shared one; a cause entry (its own `deleted`) as it is. */
export function sharedAuthor(intern: AuthorInterner, a: Author): Author {
  return a.deleted === undefined ? intern(a.username, a.uid, a.groups, a.fieldManager) : a;
}

export function authorInterner(max = 1024): AuthorInterner {
  const byIdentity = new Map<string, Author>();
  return (username, uid, groups, fieldManager) => {
    // Length-prefixed, so that no two identities share a signature whatever their characters.
    let id = `${username.length}:${username}${uid === undefined ? '-' : `${uid.length}:${uid}`}${fieldManager ? `${fieldManager.length}:${fieldManager}` : '-'}${groups.length}`;
    for (const g of groups) id += `:${g.length}:${g}`;
    const known = byIdentity.get(id);
    if (known !== undefined) return known;
    const author: Author = Object.freeze({ username, uid, groups: Object.freeze([...groups]) as string[], ...(fieldManager ? { fieldManager } : {}) });
    if (byIdentity.size >= max) byIdentity.clear();
    byIdentity.set(id, author);
    return author;
  };
}
