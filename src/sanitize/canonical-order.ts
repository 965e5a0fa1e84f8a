// The one definition of key order in recorded objects, shared by canonicalJson (hashed on the hot
// path) and toYaml (written to Git), so the two can never disagree: at the top `apiVersion, kind,
// metadata, spec`, in the top-level metadata `name, namespace`, then everything in code-point order.

/** Where an object sits: the order of its keys depends on it. */
export const Level = { Root: 0, RootMetadata: 1, Nested: 2 } as const;
export type Level = (typeof Level)[keyof typeof Level];

const ROOT_FIRST = ['apiVersion', 'kind', 'metadata', 'spec'];
const METADATA_FIRST = ['name', 'namespace'];

/** The level of the value under `key` in an object at `level`. */
export function childLevel(level: Level, key: string): Level {
  return level === Level.Root && key === 'metadata' ? Level.RootMetadata : Level.Nested;
}

/**
 * The own keys of `obj` in canonical order. Integer-like keys ("10", "9") are sorted as strings
 * too: JS objects iterate them numerically, which is why writers walk this list instead of relying
 * on an object's own key order. Writers skip keys whose value is not recordable (see isRecordable).
 */
export function canonicalKeys(obj: object, level: Level): readonly string[] {
  const keys = Object.keys(obj);
  const n = keys.length;
  if (n < REMEMBER_MIN_KEYS || n > REMEMBER_MAX_KEYS) return order(keys, level);
  const first = keys[0]!;
  const seen = remembered.get(first);
  if (seen !== undefined) {
    for (const r of seen) if (r.level === level && sameKeys(r.keys, keys)) return r.ordered;
  }
  const ordered = order(keys.slice(), level);
  if (remembered.size >= REMEMBER_MAX_LISTS) remembered.clear();
  if (seen === undefined) remembered.set(first, [{ keys, level, ordered }]);
  else if (seen.length < REMEMBER_PER_FIRST_KEY) seen.push({ keys, level, ordered });
  else seen[0] = { keys, level, ordered };
  return ordered;
}

function order(keys: string[], level: Level): string[] {
  sortKeys(keys);
  if (level === Level.Root) return moveToFront(keys, ROOT_FIRST);
  if (level === Level.RootMetadata) return moveToFront(keys, METADATA_FIRST);
  return keys;
}

// Objects of one kind arrive with the same keys in the same order, request after request (a
// container, a port, a probe): the canonical order of a key list is remembered, so the sort runs
// once per shape. A hit is checked key by key, so another list is only a miss. The lists returned
// are shared: callers only read them. Bounded (keys also come from user data).
interface Remembered {
  readonly keys: readonly string[];
  readonly level: Level;
  readonly ordered: readonly string[];
}
const remembered = new Map<string, Remembered[]>();
const REMEMBER_MIN_KEYS = 4;
const REMEMBER_MAX_KEYS = 64;
const REMEMBER_PER_FIRST_KEY = 4;
const REMEMBER_MAX_LISTS = 1024;

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Values JSON leaves out of objects (and writes as null in arrays): undefined, functions, symbols. */
export function isRecordable(value: unknown): boolean {
  const t = typeof value;
  return t !== 'undefined' && t !== 'function' && t !== 'symbol';
}

/** Sorts in place. Most objects have a handful of keys: insertion sort beats Array#sort's set-up cost. */
function sortKeys(keys: string[]): string[] {
  const n = keys.length;
  if (n > 16) return keys.sort(compareCodePoints);
  for (let i = 1; i < n; i++) {
    const key = keys[i]!;
    let j = i - 1;
    if (compareCodePoints(keys[j]!, key) <= 0) continue;
    do {
      keys[j + 1] = keys[j]!;
      j--;
    } while (j >= 0 && compareCodePoints(keys[j]!, key) > 0);
    keys[j + 1] = key;
  }
  return keys;
}

/**
 * Code-point order (the order of UTF-8 bytes, as Go and git sort), which differs from JS's UTF-16
 * code-unit order only for characters above U+FFFF against U+E000..U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        // Surrogates (astral code points) sort after the rest of the BMP.
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

function moveToFront(sorted: string[], first: readonly string[]): string[] {
  const head: string[] = [];
  for (const name of first) {
    const at = sorted.indexOf(name);
    if (at >= 0) {
      head.push(name);
      sorted.splice(at, 1);
    }
  }
  return head.length === 0 ? sorted : head.concat(sorted);
}
