// Encoding and decoding of the two structured git objects the writer builds by hand: trees and
// commits. Written here rather than through isomorphic-git's models so that the hot path (one
// commit per change) does no extra copying or validation we already did.

export interface TreeEntry { mode: string; name: string; oid: string }

export interface CommitObject {
  tree: string;
  parents: string[];
  /** Raw ident lines: `Name <email> 1700000000 +0000`. */
  author: string;
  committer: string;
  message: string;
}

export const TREE_MODE = '40000';
export const FILE_MODE = '100644';
export const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

function hasHighChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0xd800) return true;
  return false;
}

/** Git's tree order: byte order of the names, a tree's name compared as if it ended with '/'. */
export function compareTreeNames(a: string, aIsTree: boolean, b: string, bIsTree: boolean): number {
  const ka = aIsTree ? `${a}/` : a;
  const kb = bIsTree ? `${b}/` : b;
  // UTF-16 order equals UTF-8 byte order except around surrogates; fall back to bytes there.
  if (hasHighChars(ka) || hasHighChars(kb)) return Buffer.compare(Buffer.from(ka), Buffer.from(kb));
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export function decodeTree(body: Uint8Array): TreeEntry[] {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const entries: TreeEntry[] = [];
  let at = 0;
  while (at < buf.length) {
    const space = buf.indexOf(0x20, at);
    const nul = buf.indexOf(0, space);
    if (space < 0 || nul < 0 || nul + 21 > buf.length) throw new Error('corrupt tree object');
    let mode = buf.toString('latin1', at, space);
    if (mode === '040000') mode = TREE_MODE;
    entries.push({ mode, name: buf.toString('utf8', space + 1, nul), oid: buf.toString('hex', nul + 1, nul + 21) });
    at = nul + 21;
  }
  return entries;
}

/** Strips what would corrupt an ident line (angle brackets, newlines). */
function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[<>\u0000-\u001f]/g, '').trim();
}

export function formatIdent(who: { name: string; email: string }, timestamp: number): string {
  return `${clean(who.name) || 'unknown'} <${clean(who.email)}> ${Math.floor(timestamp)} +0000`;
}

/** A commit object; with `gpgsig`, the signature goes in as git writes it (continuation lines start with a space). */
export function encodeCommit(c: CommitObject, gpgsig?: string): Buffer {
  let text = `tree ${c.tree}\n`;
  for (const p of c.parents) text += `parent ${p}\n`;
  text += `author ${c.author}\ncommitter ${c.committer}\n`;
  if (gpgsig) text += `gpgsig ${gpgsig.split('\n').join('\n ')}\n`;
  text += `\n${c.message}`;
  if (!c.message.endsWith('\n')) text += '\n';
  return Buffer.from(text, 'utf8');
}

export function decodeCommit(body: Uint8Array): CommitObject {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  const end = text.indexOf('\n\n');
  const head = end < 0 ? text : text.slice(0, end);
  const c: CommitObject = { tree: '', parents: [], author: '', committer: '', message: end < 0 ? '' : text.slice(end + 2) };
  for (const line of head.split('\n')) {
    if (line.startsWith(' ')) continue; // continuation of a multi-line header (gpgsig, mergetag)
    const sp = line.indexOf(' ');
    const key = line.slice(0, sp);
    const value = line.slice(sp + 1);
    if (key === 'tree') c.tree = value;
    else if (key === 'parent') c.parents.push(value);
    else if (key === 'author') c.author = value;
    else if (key === 'committer') c.committer = value;
  }
  if (!c.tree) throw new Error('corrupt commit object: no tree');
  return c;
}
